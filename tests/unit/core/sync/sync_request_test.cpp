#include "core/sync/sync_request.hpp"

#include <catch2/catch.hpp>

using lsr::core::AudienceEvents;
using lsr::core::SyncDefaults;
using lsr::core::SyncMode;
using lsr::core::SyncRequest;
using lsr::core::SyncRequestParser;

namespace {

std::optional<SyncRequest> parse(const std::map<std::string, std::string>& params, std::string_view title,
                                 std::string& error, std::string& param, const SyncDefaults& d = {}) {
    return SyncRequestParser::parse(params, d, title, error, param);
}

}  // namespace

TEST_CASE("sync request: snake_case of a schedule's title", "[sync][sync_request]") {
    struct Case {
        const char* title;
        const char* expected;
    };
    const Case cases[] = {
        {"Users at risk: Churn (EU)", "users_at_risk_churn_eu"},
        {"  --Weekly  active__users!! ", "weekly_active_users"},
        {"2024 cohort", "audience_2024_cohort"},
        {"Caf\xc3\xa9 cr\xc3\xa8me", "caf_cr_me"},
        {"already_snake", "already_snake"},
        {"ABC", "abc"},
        {"!!!", ""},
        {"", ""},
    };
    for (const Case& c : cases) {
        INFO(c.title);
        CHECK(SyncRequestParser::snake_case(c.title) == c.expected);
    }
    const std::string long_title(100, 'x');
    CHECK(SyncRequestParser::snake_case(long_title) == std::string(64, 'x'));
    // Cut at 64 without a trailing '_'.
    const std::string cut = std::string(63, 'a') + " b";
    CHECK(SyncRequestParser::snake_case(cut) == std::string(63, 'a'));
    CHECK(SyncRequestParser::valid_audience_key(SyncRequestParser::snake_case("9 " + std::string(80, 'z'))));
}

TEST_CASE("sync request: defaults, then form values", "[sync][sync_request]") {
    std::string error, param;
    auto r = parse({}, "Churn risk", error, param);
    REQUIRE(r);
    CHECK(r->mode == SyncMode::all);
    CHECK(r->events == AudienceEvents::identify);
    CHECK(r->audience_key == "churn_risk");
    CHECK_FALSE(r->resync);
    CHECK_FALSE(r->allow_mass_exit);

    SyncDefaults d;
    d.mode = "changes";
    d.audience_events = "both";
    r = parse({{"sync", ""}, {"audience_events", " "}}, "t", error, param, d);
    REQUIRE(r);
    CHECK(r->mode == SyncMode::changes);
    CHECK(r->events == AudienceEvents::both);

    r = parse({{"sync", "Audience"},
               {"audience_key", "vip_users"},
               {"audience_events", "TRACK"},
               {"resync", "Yes"},
               {"allow_mass_exit", "true"}},
              "Ignored title", error, param);
    REQUIRE(r);
    CHECK(r->mode == SyncMode::audience);
    CHECK(r->audience_key == "vip_users");
    CHECK(r->events == AudienceEvents::track);
    CHECK(r->resync);
    CHECK(r->allow_mass_exit);

    for (const char* no : {"no", "NO", "false", "False", ""}) {
        r = parse({{"resync", no}, {"allow_mass_exit", no}}, "t", error, param);
        REQUIRE(r);
        CHECK_FALSE(r->resync);
        CHECK_FALSE(r->allow_mass_exit);
    }
    CHECK(lsr::core::sync_mode_name(SyncMode::all) == "all");
    CHECK(lsr::core::sync_mode_name(SyncMode::changes) == "changes");
    CHECK(lsr::core::sync_mode_name(SyncMode::audience) == "audience");
}

TEST_CASE("sync request: invalid values name the field and what is accepted", "[sync][sync_request]") {
    struct Case {
        std::map<std::string, std::string> params;
        const char* title;
        const char* field;
        const char* error;
    };
    const Case cases[] = {
        {{{"sync", "delta"}},
         "t",
         "sync",
         "The sync mode \"delta\" is not known: use all, changes or audience."},
        {{{"audience_events", "page"}},
         "t",
         "audience_events",
         "audience_events \"page\" is not known: use identify, track or both."},
        {{{"resync", "maybe"}},
         "t",
         "resync",
         "resync \"maybe\" is not understood: use yes or no (or true or false)."},
        {{{"allow_mass_exit", "1"}},
         "t",
         "allow_mass_exit",
         "allow_mass_exit \"1\" is not understood: use yes or no (or true or false)."},
        {{{"audience_key", "Churn-Risk"}},
         "t",
         "audience_key",
         "audience_key \"Churn-Risk\" is not a snake_case name: use lower-case letters, digits and '_', "
         "starting "
         "with a letter, at most 64 characters (for example users_at_risk)."},
        {{{"sync", "audience"}},
         "!!!",
         "audience_key",
         "audience_key is required in audience mode when the schedule's title gives no name: set it in the "
         "action's form (lower-case letters, digits and '_', for example users_at_risk)."},
    };
    for (const Case& c : cases) {
        std::string error, param;
        INFO(c.field);
        CHECK_FALSE(parse(c.params, c.title, error, param));
        CHECK(param == c.field);
        CHECK(error == c.error);
    }
    for (const char* bad : {"1abc", "_abc", "abc-d", "ab c", "ABC"}) {
        std::string error, param;
        INFO(bad);
        CHECK_FALSE(parse({{"audience_key", bad}}, "t", error, param));
        CHECK(param == "audience_key");
    }
    std::string error, param;
    CHECK_FALSE(parse({{"audience_key", std::string(65, 'a')}}, "t", error, param));
    CHECK(parse({{"audience_key", std::string(64, 'a')}}, "t", error, param));
    // Outside audience mode an empty key is fine.
    const auto r = parse({{"sync", "changes"}}, "", error, param);
    REQUIRE(r);
    CHECK(r->audience_key.empty());
    // An invalid default is reported as the sync field.
    SyncDefaults d;
    d.mode = "sometimes";
    CHECK_FALSE(parse({}, "t", error, param, d));
    CHECK(param == "sync");
}
