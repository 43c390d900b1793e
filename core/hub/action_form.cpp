#include "core/hub/action_form.hpp"

#include <initializer_list>
#include <string_view>
#include <utility>

#include "core/hub/action_catalog.hpp"
#include "core/json_out.hpp"
#include "core/text.hpp"

namespace lsr::core {

namespace {

using Option = std::pair<std::string_view, std::string_view>;  // name, label

struct Field {
    std::string_view name;
    std::string_view label;
    std::string_view description;
    std::string_view type;           // string | select
    std::string_view default_value;  // "": none
    bool required = false;
    std::initializer_list<Option> options = {};
};

void write_field(JsonOut& w, const Field& f) {
    w.raw('{');
    w.key("name");
    w.string(f.name);
    w.raw(',');
    w.key("label");
    w.string(f.label);
    w.raw(',');
    w.key("description");
    w.string(f.description);
    w.raw(',');
    w.key("type");
    w.string(f.type);
    if (!f.default_value.empty()) {
        w.raw(',');
        w.key("default");
        w.string(valid_utf8_text(f.default_value));
    }
    if (f.options.size() > 0) {
        w.raw(',');
        w.key("options");
        w.raw('[');
        bool first = true;
        for (const auto& [name, label] : f.options) {
            if (!first) w.raw(',');
            first = false;
            w.raw('{');
            w.key("name");
            w.string(name);
            w.raw(',');
            w.key("label");
            w.string(label);
            w.raw('}');
        }
        w.raw(']');
    }
    w.raw(',');
    w.key("required");
    w.boolean(f.required);
    w.raw('}');
}

// Track's own field, as the public hub has it (Looker shows its text as is).
constexpr Field kEvent{"event",  "Event", "The name of the event you\xE2\x80\x99re tracking.",
                       "string", "",      true};

// 0.5 -> "50%", 0.125 -> "12.5%".
std::string percent(double fraction) {
    const double p = fraction * 100;
    std::string text;
    JsonOut::append_double(text, static_cast<double>(static_cast<long long>(p * 10 + 0.5)) / 10);
    return text + "%";
}

std::string_view one_of(const std::string& value, std::initializer_list<std::string_view> allowed) {
    for (const auto a : allowed)
        if (value == a) return a;
    return *allowed.begin();
}

}  // namespace

std::string ActionForm::json(const ActionInfo& action, const FormDefaults& defaults) {
    const std::string_view sync = one_of(defaults.sync, {"all", "changes", "audience"});
    const std::string_view events = one_of(defaults.audience_events, {"identify", "track", "both"});
    const std::string mass_exit =
        "The relay refuses a run that would remove more than " + percent(defaults.max_exit_fraction) +
        " of the members of the last run, or whose result is empty after a non-empty one: a broken query is "
        "the likely cause. Yes lets such runs through; set it back to No after that run.";
    const Field fields[] = {
        {"sync",
         "Send",
         "Which rows each run of this schedule sends to Segment. All rows: every row, every run. Only new "
         "and changed rows: rows that are new or whose values changed since this schedule's last run. "
         "Audience: who entered the result and who left it since the last run (as Segment audiences do), "
         "plus members whose values changed.",
         "select",
         sync,
         false,
         {{"all", "All rows, every run"},
          {"changes", "Only new and changed rows"},
          {"audience", "Audience: who entered and who left"}}},
        {"audience_key",
         "Audience key",
         "Audience only: the trait (and audience_key property) that says who is a member, in snake_case. "
         "Optional: defaults to the schedule's title, snake_cased.",
         "string",
         "",
         false,
         {}},
        {"audience_events",
         "Audience events",
         "Audience only: how entering and leaving reach Segment. Identify sets the trait to true or false; "
         "Track sends Audience Entered and Audience Exited; Both sends both.",
         "select",
         events,
         false,
         {{"identify", "Identify (trait true / false)"},
          {"track", "Track (Audience Entered / Audience Exited)"},
          {"both", "Both identify and track"}}},
        {"resync",
         "Resync",
         "Yes: the next run is treated as this schedule's first run: every row is sent again and nobody "
         "leaves. Set it back to No afterwards.",
         "select",
         "no",
         false,
         {{"no", "No"}, {"yes", "Yes, send every row once"}}},
        {"allow_mass_exit",
         "Allow mass exit",
         mass_exit,
         "select",
         "no",
         false,
         {{"no", "No, refuse such runs"}, {"yes", "Yes, let the next run through"}}},
    };
    std::string out;
    JsonOut w(out);
    w.raw('{');
    w.key("fields");
    w.raw('[');
    bool first = true;
    if (action.call == "track") {
        write_field(w, kEvent);
        first = false;
    }
    for (const auto& f : fields) {
        if (!first) w.raw(',');
        first = false;
        write_field(w, f);
    }
    w.raw("]}");
    return out;
}

}  // namespace lsr::core
