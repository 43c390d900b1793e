#include "core/hub/action_catalog.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "core/json_out.hpp"
#include "core/text.hpp"

namespace lsr::core {

namespace {

constexpr std::string_view kUserAgentPrefix = "LookerOutgoingWebhook/";
constexpr std::uint64_t kMaxSafeInteger = 9007199254740991ull;  // as a JavaScript number

// An own drawing (rounded square with three lines), so the admin sees an icon in Looker.
constexpr std::string_view kIconDataUri =
    "data:image/svg+xml;base64,"
    "PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciIHZpZXdCb3g9IjAgMCA2NCA2NCI+PHJlY3Qgd2lkdGg9"
    "IjY0IiBoZWlnaHQ9IjY0IiByeD0iMTIiIGZpbGw9IiM1MmJkOTQiLz48cGF0aCBkPSJNMTQgMjRoMzBNMjAgMzJoMzBNMTQg"
    "NDBoMzAiIHN0cm9rZT0iI2ZmZiIgc3Ryb2tlLXdpZHRoPSI1IiBzdHJva2UtbGluZWNhcD0icm91bmQiLz48L3N2Zz4=";

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}
bool is_ident_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-';
}

// Digits (leading zeros allowed, as a loose parse does) -> number; false when empty or too big.
bool parse_number(std::string_view s, std::uint64_t& out) {
    if (s.empty()) return false;
    while (s.size() > 1 && s.front() == '0') s.remove_prefix(1);
    if (s.size() > 16) return false;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && ptr == s.data() + s.size() && out <= kMaxSafeInteger;
}

std::string_view take_digits(std::string_view& s) {
    std::size_t n = 0;
    while (n < s.size() && is_digit(s[n])) ++n;
    auto head = s.substr(0, n);
    s.remove_prefix(n);
    return head;
}

std::string_view trim(std::string_view s) {
    auto ws = [](char c) {
        return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
    };
    while (!s.empty() && ws(s.front())) s.remove_prefix(1);
    while (!s.empty() && ws(s.back())) s.remove_suffix(1);
    return s;
}

// Dot-separated identifiers of [0-9A-Za-z-], none empty.
bool valid_identifiers(std::string_view s) {
    if (s.empty()) return false;
    std::size_t start = 0;
    while (true) {
        auto dot = s.find('.', start);
        auto part = s.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
        if (part.empty() || !std::all_of(part.begin(), part.end(), is_ident_char)) return false;
        if (dot == std::string_view::npos) return true;
        start = dot + 1;
    }
}

std::strong_ordering compare_prerelease(std::string_view a, std::string_view b) {
    if (a.empty() || b.empty()) {
        if (a.empty() && b.empty()) return std::strong_ordering::equal;
        return a.empty() ? std::strong_ordering::greater : std::strong_ordering::less;
    }
    while (true) {
        auto da = a.find('.');
        auto db = b.find('.');
        auto pa = a.substr(0, da);
        auto pb = b.substr(0, db);
        bool na = std::all_of(pa.begin(), pa.end(), is_digit);
        bool nb = std::all_of(pb.begin(), pb.end(), is_digit);
        std::strong_ordering c = std::strong_ordering::equal;
        if (na && nb) {
            std::uint64_t x = 0, y = 0;
            parse_number(pa, x);
            parse_number(pb, y);
            c = x <=> y;
        } else if (na != nb) {
            c = na ? std::strong_ordering::less : std::strong_ordering::greater;
        } else {
            c = pa.compare(pb) <=> 0;
        }
        if (c != 0) return c;
        if (da == std::string_view::npos || db == std::string_view::npos) {
            if (da == db) return std::strong_ordering::equal;
            return da == std::string_view::npos ? std::strong_ordering::less : std::strong_ordering::greater;
        }
        a.remove_prefix(da + 1);
        b.remove_prefix(db + 1);
    }
}

// Strings from the config (labels, URLs) are written as valid UTF-8 whatever the file held.
void key(JsonOut& w, std::string_view k, bool first = false) {
    if (!first) w.raw(',');
    w.key(valid_utf8_text(k));
}
void str(JsonOut& w, std::string_view v) {
    w.string(valid_utf8_text(v));
}

void write_definition(JsonOut& w, const ActionInfo& a, const std::string& base_url,
                      const std::optional<LookerVersion>& version) {
    const std::string url_base = base_url + "/actions/" + a.name;
    w.raw('{');
    key(w, "name", true);
    str(w, a.name);
    key(w, "label");
    str(w, a.label);
    key(w, "description");
    str(w, a.description);
    key(w, "url");
    str(w, url_base + "/execute");
    key(w, "form_url");
    if (a.has_form) {
        str(w, url_base + "/form");
    } else {
        w.null();
    }
    key(w, "icon_data_uri");
    str(w, kIconDataUri);
    key(w, "params");
    w.raw("[{");
    key(w, "description", true);
    str(w, "A write key for Segment.");
    key(w, "label");
    str(w, ActionCatalog::write_key_label);
    key(w, "name");
    str(w, ActionCatalog::write_key_param);
    key(w, "required");
    w.boolean(true);
    key(w, "sensitive");
    w.boolean(true);
    w.raw("}]");
    key(w, "required_fields");
    w.raw("[{");
    bool first = true;
    for (const auto& t : a.required_tag) {
        key(w, "tag", first);
        first = false;
        str(w, t);
    }
    key(w, "any_tag", first);
    w.string_array({"email", "user_id", "segment_anonymous_id"});
    w.raw("}]");
    key(w, "supported_action_types");
    w.string_array({"query"});
    key(w, "supported_formats");
    w.string_array({ActionCatalog::format_for(version)});
    key(w, "supported_formattings");
    w.string_array({"unformatted"});
    key(w, "supported_visualization_formattings");
    w.string_array({"noapply"});
    key(w, "supported_download_settings");
    w.string_array({"url"});
    key(w, "uses_oauth");
    w.boolean(false);
    key(w, "delegate_oauth");
    w.boolean(false);
    key(w, "token_url");
    str(w, "");
    w.raw('}');
}

bool supports(const ActionInfo& a, const std::optional<LookerVersion>& version) {
    return !version || *version >= a.minimum_version;
}

}  // namespace

std::optional<LookerVersion> LookerVersion::parse(std::string_view text) {
    std::string_view s = trim(text);
    while (!s.empty() && (s.front() == 'v' || s.front() == '=' || s.front() == ' ' || s.front() == '\t')) {
        s.remove_prefix(1);
    }
    LookerVersion v;
    std::uint64_t* parts[3] = {&v.major, &v.minor, &v.patch};
    for (int i = 0; i < 3; ++i) {
        if (i > 0) {
            if (s.empty() || s.front() != '.') return std::nullopt;
            s.remove_prefix(1);
        }
        if (!parse_number(take_digits(s), *parts[i])) return std::nullopt;
    }
    auto plus = s.find('+');
    std::string_view build = plus == std::string_view::npos ? std::string_view{} : s.substr(plus + 1);
    std::string_view pre = s.substr(0, plus);
    if (plus != std::string_view::npos && !valid_identifiers(build)) return std::nullopt;
    if (!pre.empty()) {
        if (pre.front() == '-') pre.remove_prefix(1);
        if (!valid_identifiers(pre)) return std::nullopt;
        v.prerelease = std::string(pre);
    }
    return v;
}

std::optional<LookerVersion> LookerVersion::from_user_agent(std::string_view user_agent) {
    auto pos = user_agent.find(kUserAgentPrefix);
    if (pos == std::string_view::npos) return std::nullopt;
    auto rest = user_agent.substr(pos + kUserAgentPrefix.size());
    // Only the text up to a further occurrence of the prefix counts, as a split would give.
    auto next = rest.find(kUserAgentPrefix);
    return parse(rest.substr(0, next));
}

std::string LookerVersion::to_string() const {
    std::string s = std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
    if (!prerelease.empty()) s += "-" + prerelease;
    return s;
}

std::strong_ordering operator<=>(const LookerVersion& a, const LookerVersion& b) {
    if (auto c = a.major <=> b.major; c != 0) return c;
    if (auto c = a.minor <=> b.minor; c != 0) return c;
    if (auto c = a.patch <=> b.patch; c != 0) return c;
    return compare_prerelease(a.prerelease, b.prerelease);
}

ActionCatalog::ActionCatalog(std::string label, std::string base_url, const std::vector<std::string>& enabled)
    : label_(std::move(label)), base_url_(std::move(base_url)) {
    while (!base_url_.empty() && base_url_.back() == '/') base_url_.pop_back();
    std::vector<ActionInfo> all = {
        {"segment_event",
         "Segment Identify",
         "Add traits via identify to your Segment users.",
         "identify",
         LookerVersion{4, 20, 0, {}},
         true,
         {}},
        {"segment_track",
         "Segment Track",
         "Add traits via track to your Segment users.",
         "track",
         LookerVersion{5, 5, 0, {}},
         true,
         {}},
        {"segment_group",
         "Segment Group",
         "Add traits and / or users to your Segment groups.",
         "group",
         LookerVersion{5, 5, 0, {}},
         true,
         {"segment_group_id"}},
    };
    for (auto& a : all) {
        if (std::find(enabled.begin(), enabled.end(), a.name) != enabled.end())
            actions_.push_back(std::move(a));
    }
}

const ActionInfo* ActionCatalog::find(std::string_view name,
                                      const std::optional<LookerVersion>& version) const {
    for (const auto& a : actions_) {
        if (a.name == name) return supports(a, version) ? &a : nullptr;
    }
    return nullptr;
}

std::string_view ActionCatalog::format_for(const std::optional<LookerVersion>& version) {
    static const LookerVersion lite{6, 2, 0, {}};
    return version && *version >= lite ? "json_detail_lite_stream" : "json_detail";
}

std::string ActionCatalog::list_json(const std::optional<LookerVersion>& version) const {
    std::string out;
    JsonOut w(out);
    w.raw('{');
    key(w, "label", true);
    str(w, label_);
    key(w, "integrations");
    w.raw('[');
    bool first = true;
    for (const auto& a : actions_) {
        if (!supports(a, version)) continue;
        if (!first) w.raw(',');
        first = false;
        write_definition(w, a, base_url_, version);
    }
    w.raw("]}");
    return out;
}

std::string ActionCatalog::definition_json(const ActionInfo& action,
                                           const std::optional<LookerVersion>& version) const {
    std::string out;
    JsonOut w(out);
    write_definition(w, action, base_url_, version);
    return out;
}

std::string ActionCatalog::form_json(const ActionInfo& action) const {
    return ActionForm::json(action, form_defaults_);
}

}  // namespace lsr::core
