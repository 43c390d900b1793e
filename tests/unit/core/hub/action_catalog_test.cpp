#include "core/hub/action_catalog.hpp"

#include <rapidjson/document.h>

#include <catch2/catch.hpp>
#include <set>

using lsr::core::ActionCatalog;
using lsr::core::LookerVersion;

namespace {

const std::vector<std::string> kAll = {"segment_event", "segment_track", "segment_group"};

rapidjson::Document parse(const std::string& s) {
    rapidjson::Document d;
    d.Parse(s.c_str(), s.size());
    REQUIRE_FALSE(d.HasParseError());
    return d;
}

std::set<std::string> keys(const rapidjson::Value& o) {
    std::set<std::string> out;
    for (auto it = o.MemberBegin(); it != o.MemberEnd(); ++it) out.insert(it->name.GetString());
    return out;
}

std::vector<std::string> names(const rapidjson::Document& list) {
    std::vector<std::string> out;
    for (const auto& i : list["integrations"].GetArray()) out.push_back(i["name"].GetString());
    return out;
}

std::vector<std::string> field_names(const rapidjson::Document& form) {
    std::vector<std::string> out;
    for (const auto& f : form["fields"].GetArray()) out.push_back(f["name"].GetString());
    return out;
}

const rapidjson::Value& field(const rapidjson::Document& form, std::string_view name) {
    for (const auto& f : form["fields"].GetArray())
        if (f["name"].GetString() == name) return f;
    FAIL("no field " << name);
    return form;
}

std::vector<std::string> option_names(const rapidjson::Value& f) {
    std::vector<std::string> out;
    for (const auto& o : f["options"].GetArray()) out.push_back(o["name"].GetString());
    return out;
}

std::string ua(std::string_view v) {
    return "LookerOutgoingWebhook/" + std::string(v);
}

}  // namespace

TEST_CASE("LookerVersion parses loosely as the hub does", "[action_catalog]") {
    auto v = LookerVersion::parse("7.3.00004561");
    REQUIRE(v);
    CHECK(v->to_string() == "7.3.4561");
    CHECK(LookerVersion::parse("6.2.0")->to_string() == "6.2.0");
    CHECK(LookerVersion::parse(" v5.5.0 ")->to_string() == "5.5.0");
    CHECK(LookerVersion::parse("=21.0.12")->to_string() == "21.0.12");
    CHECK(LookerVersion::parse("6.2.0-beta.1")->prerelease == "beta.1");
    CHECK(LookerVersion::parse("6.2.0beta")->prerelease == "beta");
    CHECK(LookerVersion::parse("6.2.0+build.7"));
    CHECK_FALSE(LookerVersion::parse("6.2"));
    CHECK_FALSE(LookerVersion::parse("6"));
    CHECK_FALSE(LookerVersion::parse(""));
    CHECK_FALSE(LookerVersion::parse("6.2.x"));
    CHECK_FALSE(LookerVersion::parse("6.2.0 extra"));
    CHECK_FALSE(LookerVersion::parse("99999999999999999999.0.0"));
    CHECK_FALSE(LookerVersion::parse("1.2.3-"));
}

TEST_CASE("LookerVersion from the user agent and ordering", "[action_catalog]") {
    CHECK(LookerVersion::from_user_agent(ua("6.2.0"))->to_string() == "6.2.0");
    CHECK(LookerVersion::from_user_agent("LookerOutgoingWebhook/7.3.00004561")->to_string() == "7.3.4561");
    CHECK_FALSE(LookerVersion::from_user_agent("Mozilla/5.0 (X11; Linux x86_64)"));
    CHECK_FALSE(LookerVersion::from_user_agent(""));
    CHECK_FALSE(LookerVersion::from_user_agent("LookerOutgoingWebhook/"));
    CHECK(*LookerVersion::parse("4.20.0") > *LookerVersion::parse("4.9.0"));
    CHECK(*LookerVersion::parse("6.2.0-rc.1") < *LookerVersion::parse("6.2.0"));
    CHECK(*LookerVersion::parse("6.2.0-rc.2") < *LookerVersion::parse("6.2.0-rc.10"));
    CHECK(*LookerVersion::parse("6.2.0-1") < *LookerVersion::parse("6.2.0-alpha"));
    CHECK(*LookerVersion::parse("6.2.0-alpha") < *LookerVersion::parse("6.2.0-alpha.1"));
    CHECK(*LookerVersion::parse("05.05.00") == *LookerVersion::parse("5.5.0"));
}

TEST_CASE("ActionCatalog lists the three actions with the hub's keys", "[action_catalog]") {
    ActionCatalog cat("My Hub", "https://hub.example/", kAll);
    auto d = parse(cat.list_json(std::nullopt));
    CHECK(keys(d) == std::set<std::string>{"label", "integrations"});
    CHECK(std::string(d["label"].GetString()) == "My Hub");
    REQUIRE(names(d) == std::vector<std::string>{"segment_event", "segment_track", "segment_group"});
    const std::set<std::string> expected_keys = {"name",
                                                 "label",
                                                 "description",
                                                 "url",
                                                 "form_url",
                                                 "icon_data_uri",
                                                 "params",
                                                 "required_fields",
                                                 "supported_action_types",
                                                 "supported_formats",
                                                 "supported_formattings",
                                                 "supported_visualization_formattings",
                                                 "supported_download_settings",
                                                 "uses_oauth",
                                                 "delegate_oauth",
                                                 "token_url"};
    for (const auto& i : d["integrations"].GetArray()) {
        CHECK(keys(i) == expected_keys);
        std::string name = i["name"].GetString();
        CHECK(std::string(i["url"].GetString()) == "https://hub.example/actions/" + name + "/execute");
        CHECK(i["params"].Size() == 1);
        CHECK(keys(i["params"][0]) ==
              std::set<std::string>{"name", "label", "description", "required", "sensitive"});
        CHECK(std::string(i["params"][0]["name"].GetString()) == "segment_write_key");
        CHECK(std::string(i["params"][0]["label"].GetString()) == "Segment Write Key");
        CHECK(std::string(i["params"][0]["description"].GetString()) == "A write key for Segment.");
        CHECK(i["params"][0]["required"].GetBool());
        CHECK(i["params"][0]["sensitive"].GetBool());
        CHECK(std::string(i["supported_action_types"][0].GetString()) == "query");
        CHECK(i["supported_action_types"].Size() == 1);
        CHECK(std::string(i["supported_formats"][0].GetString()) == "json_detail");
        CHECK(std::string(i["supported_formattings"][0].GetString()) == "unformatted");
        CHECK(std::string(i["supported_visualization_formattings"][0].GetString()) == "noapply");
        CHECK(std::string(i["supported_download_settings"][0].GetString()) == "url");
        CHECK(i["supported_download_settings"].Size() == 1);
        CHECK_FALSE(i["uses_oauth"].GetBool());
        CHECK_FALSE(i["delegate_oauth"].GetBool());
        CHECK(std::string(i["token_url"].GetString()).empty());
        CHECK(std::string(i["icon_data_uri"].GetString()).rfind("data:image/", 0) == 0);
        REQUIRE(i["required_fields"].Size() == 1);
        const auto& rf = i["required_fields"][0];
        REQUIRE(rf["any_tag"].Size() == 3);
        CHECK(std::string(rf["any_tag"][0].GetString()) == "email");
        CHECK(std::string(rf["any_tag"][1].GetString()) == "user_id");
        CHECK(std::string(rf["any_tag"][2].GetString()) == "segment_anonymous_id");
        if (name == "segment_group") {
            CHECK(keys(rf) == std::set<std::string>{"tag", "any_tag"});
            CHECK(std::string(rf["tag"].GetString()) == "segment_group_id");
        } else {
            CHECK(keys(rf) == std::set<std::string>{"any_tag"});
        }
        // Every action has a form (cohort sync; Track's also asks for the event).
        CHECK(std::string(i["form_url"].GetString()) == "https://hub.example/actions/" + name + "/form");
    }
    CHECK(std::string(d["integrations"][0]["label"].GetString()) == "Segment Identify");
    CHECK(std::string(d["integrations"][0]["description"].GetString()) ==
          "Add traits via identify to your Segment users.");
    CHECK(std::string(d["integrations"][1]["label"].GetString()) == "Segment Track");
    CHECK(std::string(d["integrations"][1]["description"].GetString()) ==
          "Add traits via track to your Segment users.");
    CHECK(std::string(d["integrations"][2]["label"].GetString()) == "Segment Group");
    CHECK(std::string(d["integrations"][2]["description"].GetString()) ==
          "Add traits and / or users to your Segment groups.");
}

TEST_CASE("ActionCatalog filters by the caller's Looker version", "[action_catalog]") {
    ActionCatalog cat("Hub", "https://hub.example", kAll);
    auto v = [](std::string_view s) { return LookerVersion::from_user_agent(ua(s)); };
    CHECK(names(parse(cat.list_json(v("5.0.0")))) == std::vector<std::string>{"segment_event"});
    CHECK(names(parse(cat.list_json(v("4.20.0")))) == std::vector<std::string>{"segment_event"});
    CHECK(names(parse(cat.list_json(v("4.19.9")))).empty());
    CHECK(names(parse(cat.list_json(v("5.5.0")))).size() == 3);
    CHECK(names(parse(cat.list_json(LookerVersion::from_user_agent("Mozilla/5.0")))).size() == 3);
    CHECK(cat.list_json(v("6.0.0")) != cat.list_json(v("6.2.0")));
    auto fmt = [&](std::string_view s) {
        auto d = parse(cat.list_json(v(s)));
        return std::string(d["integrations"][0]["supported_formats"][0].GetString());
    };
    CHECK(fmt("6.0.0") == "json_detail");
    CHECK(fmt("6.1.99") == "json_detail");
    CHECK(fmt("6.2.0") == "json_detail_lite_stream");
    CHECK(fmt("7.3.00004561") == "json_detail_lite_stream");
    CHECK(fmt("6.2.0-beta") == "json_detail");
    CHECK(ActionCatalog::format_for(std::nullopt) == "json_detail");

    CHECK(cat.find("segment_track", v("5.0.0")) == nullptr);
    CHECK(cat.find("segment_track", v("5.5.0")) != nullptr);
    CHECK(cat.find("segment_track", std::nullopt) != nullptr);
    CHECK(cat.find("nope", std::nullopt) == nullptr);
    auto one = parse(cat.definition_json(*cat.find("segment_event", v("6.2.0")), v("6.2.0")));
    CHECK(std::string(one["supported_formats"][0].GetString()) == "json_detail_lite_stream");
}

TEST_CASE("ActionCatalog exposes only the configured actions", "[action_catalog]") {
    ActionCatalog cat("Hub", "https://hub.example", {"segment_group", "unknown"});
    CHECK(names(parse(cat.list_json(std::nullopt))) == std::vector<std::string>{"segment_group"});
    CHECK(cat.find("segment_event", std::nullopt) == nullptr);
}

TEST_CASE("ActionCatalog Track form keeps its event field first", "[action_catalog]") {
    ActionCatalog cat("Hub", "https://hub.example", kAll);
    const auto* track = cat.find("segment_track", std::nullopt);
    REQUIRE(track);
    CHECK(track->has_form);
    const std::string form = cat.form_json(*track);
    CHECK(form.rfind("{\"fields\":[{\"name\":\"event\",\"label\":\"Event\",\"description\":\"The name of the "
                     "event you\xE2\x80\x99re tracking.\",\"type\":\"string\",\"required\":true},",
                     0) == 0);
    CHECK(field_names(parse(form)) == std::vector<std::string>{"event", "sync", "audience_key",
                                                               "audience_events", "resync",
                                                               "allow_mass_exit"});
}

TEST_CASE("ActionCatalog every action's form offers the sync fields", "[action_catalog]") {
    ActionCatalog cat("Hub", "https://hub.example", kAll);
    for (const char* name : {"segment_event", "segment_group"}) {
        INFO(name);
        const auto* action = cat.find(name, std::nullopt);
        REQUIRE(action);
        CHECK(action->has_form);
        const auto form = parse(cat.form_json(*action));
        CHECK(keys(form) == std::set<std::string>{"fields"});
        CHECK(field_names(form) == std::vector<std::string>{"sync", "audience_key", "audience_events",
                                                            "resync", "allow_mass_exit"});
        for (const auto& f : form["fields"].GetArray()) {
            CHECK_FALSE(f["required"].GetBool());  // every sync field has a default or is optional
            CHECK(std::string(f["label"].GetString()).size() > 0);
            CHECK(std::string(f["description"].GetString()).size() > 20);
        }
        const auto& sync = field(form, "sync");
        CHECK(std::string(sync["type"].GetString()) == "select");
        CHECK(std::string(sync["default"].GetString()) == "all");
        CHECK(option_names(sync) == std::vector<std::string>{"all", "changes", "audience"});
        const auto& key = field(form, "audience_key");
        CHECK(std::string(key["type"].GetString()) == "string");
        CHECK_FALSE(key.HasMember("default"));
        CHECK_FALSE(key.HasMember("options"));
        CHECK(std::string(key["description"].GetString())
                  .find("defaults to the schedule's title, snake_cased") != std::string::npos);
        const auto& events = field(form, "audience_events");
        CHECK(std::string(events["type"].GetString()) == "select");
        CHECK(std::string(events["default"].GetString()) == "identify");
        CHECK(option_names(events) == std::vector<std::string>{"identify", "track", "both"});
        for (const char* yes_no : {"resync", "allow_mass_exit"}) {
            const auto& f = field(form, yes_no);
            CHECK(std::string(f["type"].GetString()) == "select");
            CHECK(std::string(f["default"].GetString()) == "no");
            CHECK(option_names(f) == std::vector<std::string>{"no", "yes"});
        }
        for (const auto& f : form["fields"].GetArray()) {
            if (!f.HasMember("options")) continue;
            for (const auto& o : f["options"].GetArray()) {
                CHECK(keys(o) == std::set<std::string>{"name", "label"});
                CHECK(std::string(o["label"].GetString()).size() > 1);
            }
        }
    }
}

TEST_CASE("ActionCatalog forms start from the configured sync defaults", "[action_catalog]") {
    ActionCatalog cat("Hub", "https://hub.example", kAll);
    cat.set_form_defaults({"audience", "both", 0.2});
    const auto form = parse(cat.form_json(*cat.find("segment_event", std::nullopt)));
    CHECK(std::string(field(form, "sync")["default"].GetString()) == "audience");
    CHECK(std::string(field(form, "audience_events")["default"].GetString()) == "both");
    CHECK(std::string(field(form, "allow_mass_exit")["description"].GetString()).find("more than 20%") !=
          std::string::npos);
    // A value the form does not offer falls back to the first option.
    cat.set_form_defaults({"bogus", "\xff", 0.5});
    const auto fallback = parse(cat.form_json(*cat.find("segment_event", std::nullopt)));
    CHECK(std::string(field(fallback, "sync")["default"].GetString()) == "all");
    CHECK(std::string(field(fallback, "audience_events")["default"].GetString()) == "identify");
    CHECK(std::string(field(fallback, "allow_mass_exit")["description"].GetString()).find("more than 50%") !=
          std::string::npos);
}

TEST_CASE("ActionCatalog writes the definition byte for byte", "[action_catalog]") {
    // The exact text Looker has always been given (key order, escapes, null, booleans).
    ActionCatalog cat("Hub", "https://hub.example/x\\y/", kAll);
    const std::string expected =
        "{\"name\":\"segment_group\",\"label\":\"Segment Group\",\"description\":\"Add traits and / "
        "or users to your Segment groups.\",\"url\":\"https://hub.example/x\\\\y/actions/segmen"
        "t_group/execute\",\"form_url\":\"https://hub.example/x\\\\y/actions/segment_group/form\","
        "\"icon_data_uri\":\"data:image/svg+xml;base64,PHN2"
        "ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciIHZpZXdCb3g9IjAgMCA2NCA2NCI+PHJl"
        "Y3Qgd2lkdGg9IjY0IiBoZWlnaHQ9IjY0IiByeD0iMTIiIGZpbGw9IiM1MmJkOTQiLz48cGF0aCBkPSJN"
        "MTQgMjRoMzBNMjAgMzJoMzBNMTQgNDBoMzAiIHN0cm9rZT0iI2ZmZiIgc3Ryb2tlLXdpZHRoPSI1IiBz"
        "dHJva2UtbGluZWNhcD0icm91bmQiLz48L3N2Zz4=\",\"params\":[{\"description\":\"A write key "
        "for Segment.\",\"label\":\"Segment Write Key\",\"name\":\"segment_write_key\",\"required\":"
        "true,\"sensitive\":true}],\"required_fields\":[{\"tag\":\"segment_group_id\",\"any_tag\":["
        "\"email\",\"user_id\",\"segment_anonymous_id\"]}],\"supported_action_types\":[\"query\"],\""
        "supported_formats\":[\"json_detail\"],\"supported_formattings\":[\"unformatted\"],\"supp"
        "orted_visualization_formattings\":[\"noapply\"],\"supported_download_settings\":[\"url"
        "\"],\"uses_oauth\":false,\"delegate_oauth\":false,\"token_url\":\"\"}";
    CHECK(cat.definition_json(*cat.find("segment_group", std::nullopt), std::nullopt) == expected);
    ActionCatalog one("A \"q\" \xff label", "https://h", {"segment_event"});
    const std::string list = one.list_json(LookerVersion::parse("6.2.0"));
    CHECK(list.rfind(
              "{\"label\":\"A \\\"q\\\" \xEF\xBF\xBD label\",\"integrations\":[{\"name\":\"segment_event\",",
              0) == 0);
    CHECK(list.find("\"supported_formats\":[\"json_detail_lite_stream\"]") != std::string::npos);
    CHECK(list.substr(list.size() - 4) == "\"}]}");
}
