// What a cohort-sync run was asked to do: the mode, the audience key and events, and the
// one-run switches, read from an execute's form_params (or a webhook route's config keys)
// over the configured defaults.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace lsr::core {

// all: every row, as without sync; changes: rows new or changed since the last run;
// audience: who entered, who left, and members whose traits changed.
enum class SyncMode { all, changes, audience };
enum class AudienceEvents { identify, track, both };

std::string_view sync_mode_name(SyncMode mode);                // "all" | "changes" | "audience"
std::string_view audience_events_name(AudienceEvents events);  // "identify" | "track" | "both"

struct SyncDefaults {
    std::string mode = "all";
    std::string audience_events = "identify";
};

struct SyncRequest {
    SyncMode mode = SyncMode::all;
    std::string audience_key;  // snake_case, never empty in audience mode
    AudienceEvents events = AudienceEvents::identify;
    bool resync = false;           // this run counts as the first: every row sent, no exits
    bool allow_mass_exit = false;  // the guard lets this run through
};

class SyncRequestParser {
  public:
    // Values of the keys "sync", "audience_key", "audience_events", "resync" and
    // "allow_mass_exit" over the defaults. Empty or missing values take the defaults; sync and
    // audience_events are case-insensitive; resync / allow_mass_exit accept yes|no|true|false
    // (case-insensitive), empty = no. audience_key: given -> snake_case [a-z0-9_]+, starting
    // with a letter, at most 64 characters; empty -> snake_case(plan_title); when that is empty
    // too, audience mode is an error. Surrounding spaces are ignored everywhere.
    // On an invalid value: nullopt, `error` a sentence for the Looker admin naming the value
    // and what is accepted, `invalid_param` the form field's name.
    static std::optional<SyncRequest> parse(const std::map<std::string, std::string>& params,
                                            const SyncDefaults& defaults, std::string_view plan_title,
                                            std::string& error, std::string& invalid_param);

    // "Users at risk: Churn (EU)" -> "users_at_risk_churn_eu": ASCII letters (lower-cased) and
    // digits kept, every other run of bytes one '_', no leading or trailing '_', "audience_"
    // before a leading digit; cut to 64 characters.
    static std::string snake_case(std::string_view title);

    // [a-z][a-z0-9_]*, at most 64 characters.
    static bool valid_audience_key(std::string_view key);

    static constexpr std::size_t kMaxAudienceKey = 64;
};

}  // namespace lsr::core
