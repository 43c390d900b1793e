#include "core/sync/sync_guard.hpp"

#include <catch2/catch.hpp>

using lsr::core::SyncGuard;
using lsr::core::SyncGuardInput;

namespace {

SyncGuardInput input(std::uint64_t members, std::uint64_t leave, std::uint64_t accepted,
                     double fraction = 0.5) {
    SyncGuardInput in;
    in.baseline_members = members;
    in.would_leave = leave;
    in.accepted_rows = accepted;
    in.max_exit_fraction = fraction;
    return in;
}

}  // namespace

TEST_CASE("sync guard: thresholds", "[sync][sync_guard]") {
    struct Case {
        std::uint64_t members, leave, accepted;
        double fraction;
        bool refused;
    };
    const Case cases[] = {
        {0, 0, 0, 0.5, false},                                  // first run: nothing to protect
        {1000, 500, 700, 0.5, false},                           // exactly the fraction is allowed
        {1000, 501, 700, 0.5, true},  {10, 3, 7, 0.3, false},   // 0.3 * 10 is 2.9999999999999996 in binary
        {10, 4, 7, 0.3, true},        {1000, 0, 0, 0.5, true},  // empty result
        {1000, 1000, 1, 1.0, false},  {1000, 1, 999, 0.0, true}, {1000, 0, 1000, 0.0, false},
    };
    for (const Case& c : cases) {
        INFO(c.members << " " << c.leave << " " << c.accepted << " " << c.fraction);
        CHECK(SyncGuard::refuse(input(c.members, c.leave, c.accepted, c.fraction)).has_value() == c.refused);
        auto allowed = input(c.members, c.leave, c.accepted, c.fraction);
        allowed.allow_mass_exit = true;
        CHECK_FALSE(SyncGuard::refuse(allowed));
        auto resync = input(c.members, c.leave, c.accepted, c.fraction);
        resync.resync = true;
        CHECK_FALSE(SyncGuard::refuse(resync));
    }
}

TEST_CASE("sync guard: messages", "[sync][sync_guard]") {
    const std::string how =
        " Nothing was sent and the baseline is unchanged. If the result is right, run it once with "
        "allow_mass_exit set to yes in the action's form.";
    CHECK(*SyncGuard::refuse(input(1000, 600, 400)) ==
          "Refused: this run would remove 600 of the audience's 1,000 members (60%), more than "
          "sync.max_exit_fraction (50%)." +
              how);
    CHECK(*SyncGuard::refuse(input(1000, 0, 0)) ==
          "Refused: the result has no rows while the baseline has 1,000 members, so this run would remove "
          "all of "
          "them (a broken query or filter?)." +
              how);
    CHECK(*SyncGuard::refuse(input(1'234'567, 1'000'000, 5, 0.25)) ==
          "Refused: this run would remove 1,000,000 of the audience's 1,234,567 members (81.00%), more than "
          "sync.max_exit_fraction (25%)." +
              how);
    CHECK(SyncGuard::refuse(input(100000, 50001, 49999))
              ->find("(over 50%), more than sync.max_exit_fraction (50%)") != std::string::npos);
    CHECK(SyncGuard::refuse(input(10000, 5001, 4999))->find("(50.01%)") != std::string::npos);
    CHECK(SyncGuard::percent(0.6) == "60%");
    CHECK(SyncGuard::percent(0.125) == "12.5%");
    CHECK(SyncGuard::percent(0.15) == "15%");
    CHECK(SyncGuard::percent(0.155) == "15.5%");
    CHECK(SyncGuard::percent(1.0 / 3) == "33.33%");
}
