#include "core/sync/sync_summary.hpp"

#include <catch2/catch.hpp>

using lsr::core::SyncCounts;
using lsr::core::SyncMode;
using lsr::core::SyncSummary;

TEST_CASE("sync summary: thousands", "[sync][sync_summary]") {
    const std::pair<std::uint64_t, const char*> cases[] = {
        {0, "0"},
        {7, "7"},
        {999, "999"},
        {1000, "1,000"},
        {12345, "12,345"},
        {100000, "100,000"},
        {1000000, "1,000,000"},
        {18446744073709551615ull, "18,446,744,073,709,551,615"},
    };
    for (const auto& [n, text] : cases) CHECK(SyncSummary::group_thousands(n) == text);
}

TEST_CASE("sync summary: the answer's sentence", "[sync][sync_summary]") {
    SyncCounts c;
    c.rows = 1'000'000;
    c.changed = 9'820;
    c.added = 180;
    c.unchanged = 990'000;
    c.removed = 95;
    c.events = 10'095;
    CHECK(SyncSummary::text(SyncMode::audience, c) ==
          "1,000,000 rows: 9,820 changed, 180 new, 990,000 unchanged, 95 left; 10,095 events queued.");
    CHECK(SyncSummary::text(SyncMode::changes, c) ==
          "1,000,000 rows: 9,820 changed, 180 new, 990,000 unchanged, 95 removed; 10,095 events queued.");
    CHECK(SyncSummary::text(SyncMode::all, c) == "1,000,000 rows; 10,095 events queued.");
    c.duplicates = 3;
    CHECK(SyncSummary::text(SyncMode::audience, c) ==
          "1,000,000 rows: 9,820 changed, 180 new, 990,000 unchanged, 95 left, 3 duplicates left out; 10,095 "
          "events queued.");
    SyncCounts r;
    r.rows = 1000;
    r.changed = 10;
    r.added = 5;
    r.unchanged = 985;
    r.removed = 20;
    r.events = 1000;
    CHECK(SyncSummary::text(SyncMode::changes, r, true) ==
          "1,000 rows (resync: every row sent): 10 changed, 5 new, 985 unchanged; 1,000 events queued.");
    SyncCounts one;
    one.rows = 1;
    one.added = 1;
    one.events = 1;
    one.duplicates = 1;
    CHECK(SyncSummary::text(SyncMode::audience, one) ==
          "1 row: 0 changed, 1 new, 0 unchanged, 0 left, 1 duplicate left out; 1 event queued.");
}
