// The three Segment actions as the public Action Hub advertises them (Identify, Track, Group),
// with the label and base URL from the config. Pure: serializes definitions, the actions list
// filtered by the caller's Looker version, and the actions' forms (core/hub/action_form.hpp).
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/hub/action_form.hpp"

namespace lsr::core {

// A loosely parsed semantic version ("7.3.00004561" -> 7.3.4561).
struct LookerVersion {
    std::uint64_t major = 0;
    std::uint64_t minor = 0;
    std::uint64_t patch = 0;
    std::string prerelease;  // empty for a release; a pre-release sorts before its release

    static std::optional<LookerVersion> parse(std::string_view text);
    // The version in `User-Agent: LookerOutgoingWebhook/<v>`; nullopt when absent or not Looker's.
    static std::optional<LookerVersion> from_user_agent(std::string_view user_agent);
    std::string to_string() const;

    friend std::strong_ordering operator<=>(const LookerVersion& a, const LookerVersion& b);
    friend bool operator==(const LookerVersion& a, const LookerVersion& b) { return (a <=> b) == 0; }
};

struct ActionInfo {
    std::string name;   // segment_event | segment_track | segment_group
    std::string label;  // "Segment Identify" ...
    std::string description;
    std::string call;  // identify | track | group
    LookerVersion minimum_version;
    bool has_form = false;  // every action has one (cohort sync); Track's also asks for the event
    std::vector<std::string> required_tag;  // the single `tag` of the required_fields entry, if any
};

class ActionCatalog {
  public:
    // `enabled` lists the action names to expose (config hub.actions); unknown names are ignored.
    ActionCatalog(std::string label, std::string base_url, const std::vector<std::string>& enabled);

    // The action `name` if exposed and supported by `version` (no version: no filtering).
    const ActionInfo* find(std::string_view name, const std::optional<LookerVersion>& version) const;
    const std::vector<ActionInfo>& actions() const { return actions_; }

    // {"label":…,"integrations":[…]} for POST /.
    std::string list_json(const std::optional<LookerVersion>& version) const;
    // One integration object for POST /actions/{name}.
    std::string definition_json(const ActionInfo& action, const std::optional<LookerVersion>& version) const;
    // The values the forms start with (config `sync:`); FormDefaults{} until set.
    void set_form_defaults(FormDefaults defaults) { form_defaults_ = std::move(defaults); }
    // {"fields":[…]} for an action's form.
    std::string form_json(const ActionInfo& action) const;

    // The one admin param of every Segment action.
    static constexpr std::string_view write_key_param = "segment_write_key";
    static constexpr std::string_view write_key_label = "Segment Write Key";
    // The format Looker should send: json_detail_lite_stream from 6.2.0, json_detail otherwise.
    static std::string_view format_for(const std::optional<LookerVersion>& version);

  private:
    std::string label_;
    std::string base_url_;  // without a trailing slash
    std::vector<ActionInfo> actions_;
    FormDefaults form_defaults_;
};

}  // namespace lsr::core
