// The keys of cohort sync (`sync:`, `runs:`, the sync keys of a webhook route): read with
// their types, defaults when absent, and every bad value reported on its line.
#include <catch2/catch.hpp>
#include <string>

#include "config/config_loader.hpp"

using lsr::config::ConfigLoader;
using lsr::config::LoadResult;

namespace {

// The route every test below shares, with `extra` appended to it (indented by 4).
std::string route_with(const std::string& extra) {
    return "webhooks:\n"
           "  - name: cohort\n"
           "    path: /webhooks/cohort\n"
           "    token: t\n"
           "    write_key: wk\n"
           "    identity: {user_id: \"User ID\"}\n" +
           extra;
}

bool has_problem(const LoadResult& r, int line, const std::string& part) {
    for (const auto& p : r.problems)
        if (p.line == line && p.message.find(part) != std::string::npos) return true;
    return false;
}

std::string all_problems(const LoadResult& r) {
    std::string out;
    for (const auto& p : r.problems) out += p.to_string() + "\n";
    return out;
}

}  // namespace

TEST_CASE("sync and runs defaults", "[config][sync]") {
    const auto r = ConfigLoader::defaults();
    REQUIRE(r.ok());
    CHECK(r.config.sync.mode == "all");
    CHECK(r.config.sync.audience_events == "identify");
    CHECK(r.config.sync.max_exit_fraction == Approx(0.5));
    CHECK(r.config.sync.forget_after_days == 90);
    CHECK(r.config.sync.max_members == 5'000'000);
    CHECK(r.config.runs.keep_days == 30);
}

TEST_CASE("sync and runs keys are read", "[config][sync]") {
    const auto r = ConfigLoader::load_string(R"(
sync:
  mode: audience
  audience_events: both
  max_exit_fraction: 0.25
  max_members: 1000
  forget_after_days: 0
runs:
  keep_days: 7
)",
                                             "s.yaml");
    INFO(all_problems(r));
    REQUIRE(r.ok());
    CHECK(r.config.sync.mode == "audience");
    CHECK(r.config.sync.audience_events == "both");
    CHECK(r.config.sync.max_exit_fraction == Approx(0.25));
    CHECK(r.config.sync.forget_after_days == 0);
    CHECK(r.config.sync.max_members == 1000);
    CHECK(r.config.runs.keep_days == 7);
}

TEST_CASE("a route's sync keys are read; absent ones stay empty", "[config][sync]") {
    const auto r = ConfigLoader::load_string(route_with("    sync: changes\n"
                                                        "    audience_key: at_risk_2\n"
                                                        "    audience_events: track\n"
                                                        "    resync: yes\n"
                                                        "    allow_mass_exit: true\n"),
                                             "w.yaml");
    INFO(all_problems(r));
    REQUIRE(r.ok());
    REQUIRE(r.config.webhooks.size() == 1);
    const auto& w = r.config.webhooks[0];
    CHECK(w.sync == "changes");
    CHECK(w.audience_key == "at_risk_2");
    CHECK(w.audience_events == "track");
    CHECK(w.resync);
    CHECK(w.allow_mass_exit);

    const auto plain = ConfigLoader::load_string(route_with(""), "w.yaml");
    REQUIRE(plain.ok());
    const auto& p = plain.config.webhooks[0];
    CHECK(p.sync.empty());
    CHECK(p.audience_key.empty());
    CHECK(p.audience_events.empty());
    CHECK_FALSE(p.resync);
    CHECK_FALSE(p.allow_mass_exit);
}

TEST_CASE("an audience route without audience_key is valid (the title is used)", "[config][sync]") {
    const auto r = ConfigLoader::load_string(route_with("    sync: audience\n"), "w.yaml");
    INFO(all_problems(r));
    CHECK(r.ok());
}

TEST_CASE("bad sync and runs values are reported on their lines", "[config][sync]") {
    const auto r = ConfigLoader::load_string(R"(
sync:
  mode: everything
  audience_events: page
  max_exit_fraction: 1.5
  forget_after_days: -1
runs:
  keep_days: soon
  other: 1
)",
                                             "bad.yaml");
    INFO(all_problems(r));
    CHECK(has_problem(r, 3, "sync.mode must be all, changes or audience, not \"everything\""));
    CHECK(has_problem(r, 4, "sync.audience_events must be identify, track or both, not \"page\""));
    CHECK(has_problem(r, 5, "sync.max_exit_fraction must be above 0 and at most 1"));
    CHECK(has_problem(r, 6, "sync.forget_after_days must be a non-negative integer"));
    CHECK(has_problem(r, 8, "runs.keep_days must be a non-negative integer"));
    CHECK(has_problem(r, 9, "unknown key \"runs.other\""));
    CHECK(r.problems.size() == 6);
}

TEST_CASE("max_exit_fraction must be above 0 and at most 1", "[config][sync]") {
    for (const char* bad : {"0", "1.0001", "nan", "inf"}) {
        const auto r =
            ConfigLoader::load_string(std::string("sync:\n  max_exit_fraction: ") + bad + "\n", "f.yaml");
        INFO(bad);
        CHECK(has_problem(r, 2, "sync.max_exit_fraction"));
    }
    for (const char* good : {"1", "0.01", "0.5"}) {
        const auto r =
            ConfigLoader::load_string(std::string("sync:\n  max_exit_fraction: ") + good + "\n", "f.yaml");
        INFO(good << ": " << all_problems(r));
        CHECK(r.ok());
    }
}

TEST_CASE("bad route sync keys are reported on their lines", "[config][sync]") {
    const auto r = ConfigLoader::load_string(route_with("    sync: some\n"
                                                        "    audience_key: At Risk\n"
                                                        "    audience_events: none\n"
                                                        "    resync: maybe\n"
                                                        "    allow_mass_exit: 2\n"),
                                             "w.yaml");
    INFO(all_problems(r));
    CHECK(has_problem(r, 7, "webhooks[0].sync must be all, changes or audience, not \"some\""));
    CHECK(has_problem(r, 8, "webhooks[0].audience_key must be snake_case"));
    CHECK(has_problem(r, 9, "webhooks[0].audience_events must be identify, track or both, not \"none\""));
    CHECK(has_problem(r, 10, "webhooks[0].resync must be true or false"));
    CHECK(has_problem(r, 11, "webhooks[0].allow_mass_exit must be true or false"));
    CHECK(r.problems.size() == 5);
}

TEST_CASE("audience_key is snake_case of at most 64 characters", "[config][sync]") {
    auto problems_for = [](const std::string& key) {
        return ConfigLoader::load_string(route_with("    audience_key: \"" + key + "\"\n"), "k.yaml")
            .problems.size();
    };
    CHECK(problems_for("a") == 0);
    CHECK(problems_for("churn_risk_30d") == 0);
    CHECK(problems_for("a" + std::string(63, 'b')) == 0);
    CHECK(problems_for("a" + std::string(64, 'b')) == 1);
    CHECK(problems_for("1st") == 1);
    CHECK(problems_for("_x") == 1);
    CHECK(problems_for("Churn") == 1);
    CHECK(problems_for("churn-risk") == 1);
    CHECK(problems_for("churn risk") == 1);
    CHECK(problems_for("caf\xC3\xA9") == 1);
}
