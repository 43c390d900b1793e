#include "core/sync/sync_request.hpp"

#include "core/text.hpp"

namespace lsr::core {
namespace {

std::string_view trimmed(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

std::string_view param(const std::map<std::string, std::string>& params, const char* name) {
    const auto it = params.find(name);
    return it == params.end() ? std::string_view() : trimmed(it->second);
}

// The value as the admin typed it, quoted for a message (valid UTF-8, escapes visible).
std::string quoted(std::string_view value) {
    return json_string(value);
}

bool parse_mode(std::string_view text, SyncMode& out) {
    if (equals_ci(text, "all")) {
        out = SyncMode::all;
    } else if (equals_ci(text, "changes")) {
        out = SyncMode::changes;
    } else if (equals_ci(text, "audience")) {
        out = SyncMode::audience;
    } else {
        return false;
    }
    return true;
}

bool parse_events(std::string_view text, AudienceEvents& out) {
    if (equals_ci(text, "identify")) {
        out = AudienceEvents::identify;
    } else if (equals_ci(text, "track")) {
        out = AudienceEvents::track;
    } else if (equals_ci(text, "both")) {
        out = AudienceEvents::both;
    } else {
        return false;
    }
    return true;
}

bool parse_flag(std::string_view text, bool& out) {
    if (text.empty() || equals_ci(text, "no") || equals_ci(text, "false")) {
        out = false;
    } else if (equals_ci(text, "yes") || equals_ci(text, "true")) {
        out = true;
    } else {
        return false;
    }
    return true;
}

bool fail(std::string& error, std::string& invalid_param, std::string_view name, std::string message) {
    error = std::move(message);
    invalid_param = name;
    return false;
}

}  // namespace

std::string_view sync_mode_name(SyncMode mode) {
    switch (mode) {
        case SyncMode::changes:
            return "changes";
        case SyncMode::audience:
            return "audience";
        case SyncMode::all:
            break;
    }
    return "all";
}

std::string_view audience_events_name(AudienceEvents events) {
    switch (events) {
        case AudienceEvents::track:
            return "track";
        case AudienceEvents::both:
            return "both";
        case AudienceEvents::identify:
            break;
    }
    return "identify";
}

bool SyncRequestParser::valid_audience_key(std::string_view key) {
    if (key.empty() || key.size() > kMaxAudienceKey) return false;
    if (key[0] < 'a' || key[0] > 'z') return false;
    for (char c : key)
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
    return true;
}

std::string SyncRequestParser::snake_case(std::string_view title) {
    std::string out;
    bool gap = false;
    for (char c : title) {
        const bool lower = c >= 'a' && c <= 'z', upper = c >= 'A' && c <= 'Z', digit = c >= '0' && c <= '9';
        if (!lower && !upper && !digit) {
            gap = true;
            continue;
        }
        if (gap && !out.empty()) out.push_back('_');
        gap = false;
        out.push_back(upper ? static_cast<char>(c - 'A' + 'a') : c);
    }
    if (!out.empty() && out[0] >= '0' && out[0] <= '9') out.insert(0, "audience_");
    if (out.size() > kMaxAudienceKey) out.resize(kMaxAudienceKey);
    while (!out.empty() && out.back() == '_') out.pop_back();
    return out;
}

std::optional<SyncRequest> SyncRequestParser::parse(const std::map<std::string, std::string>& params,
                                                    const SyncDefaults& defaults, std::string_view plan_title,
                                                    std::string& error, std::string& invalid_param) {
    error.clear();
    invalid_param.clear();
    SyncRequest r;
    std::string_view mode = param(params, "sync");
    if (mode.empty()) mode = trimmed(defaults.mode);
    if (!mode.empty() && !parse_mode(mode, r.mode)) {
        fail(error, invalid_param, "sync",
             "The sync mode " + quoted(mode) + " is not known: use all, changes or audience.");
        return std::nullopt;
    }
    std::string_view events = param(params, "audience_events");
    if (events.empty()) events = trimmed(defaults.audience_events);
    if (!events.empty() && !parse_events(events, r.events)) {
        fail(error, invalid_param, "audience_events",
             "audience_events " + quoted(events) + " is not known: use identify, track or both.");
        return std::nullopt;
    }
    for (const char* name : {"resync", "allow_mass_exit"}) {
        const std::string_view text = param(params, name);
        bool& flag = std::string_view(name) == "resync" ? r.resync : r.allow_mass_exit;
        if (!parse_flag(text, flag)) {
            fail(error, invalid_param, name,
                 std::string(name) + " " + quoted(text) +
                     " is not understood: use yes or no (or true or false).");
            return std::nullopt;
        }
    }
    const std::string_view key = param(params, "audience_key");
    if (!key.empty()) {
        if (!valid_audience_key(key)) {
            fail(error, invalid_param, "audience_key",
                 "audience_key " + quoted(key) +
                     " is not a snake_case name: use lower-case letters, digits and '_', starting with a "
                     "letter, at most 64 characters (for example users_at_risk).");
            return std::nullopt;
        }
        r.audience_key = key;
    } else {
        r.audience_key = snake_case(plan_title);
    }
    if (r.mode == SyncMode::audience && r.audience_key.empty()) {
        fail(error, invalid_param, "audience_key",
             "audience_key is required in audience mode when the schedule's title gives no name: set it in "
             "the "
             "action's form (lower-case letters, digits and '_', for example users_at_risk).");
        return std::nullopt;
    }
    return r;
}

}  // namespace lsr::core
