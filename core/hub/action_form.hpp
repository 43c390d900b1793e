// The form of a Segment action (POST /actions/{name}/form), as Looker renders it for the
// schedule's owner: Track's `event` first, then the cohort sync fields every action offers
// (sync, audience_key, audience_events, resync, allow_mass_exit). Looker sends the values
// back as strings in an execute's `form_params`. Pure.
#pragma once

#include <string>

namespace lsr::core {

struct ActionInfo;

// The values a new schedule's form starts with (config `sync:`).
struct FormDefaults {
    std::string sync = "all";                  // all | changes | audience
    std::string audience_events = "identify";  // identify | track | both
    double max_exit_fraction = 0.5;            // named in allow_mass_exit's description
};

class ActionForm {
  public:
    // {"fields":[…]} for `action`.
    static std::string json(const ActionInfo& action, const FormDefaults& defaults);
};

}  // namespace lsr::core
