// How long cohort sync's store takes at the sizes the issue names (1,000,000 members, 1%
// changed). Hidden (run with "[.sync_perf]"): it prints its figures and asserts only results.
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <string>
#include <vector>

#include "server/storage/sync_store.hpp"
#include "spool_test_support.hpp"
#include "sync_store_test_support.hpp"

using lsr::server::RunRecord;
using lsr::server::StagedChange;
using lsr::server::StagedRow;
using lsr::server::SyncStore;
using namespace lsr::server::spool_test;
using namespace lsr::server::sync_test;

namespace {

// The process's CPU time (user + system), to compare on a busy machine.
double cpu_seconds() {
    return static_cast<double>(std::clock()) / CLOCKS_PER_SEC;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

StagedRow row_of(std::uint64_t i, std::uint64_t salt, StagedChange change) {
    return {mix(i), mix(i * 1000003 + salt), R"({"userId":"user-)" + std::to_string(i) + R"("})", change};
}

// Stages rows first..first+n-1 in calls of 8,192; the slowest call's time.
double stage_range(SyncStore& store, std::int64_t run, std::uint64_t first, std::uint64_t n,
                   std::uint64_t salt, StagedChange change) {
    double slowest = 0;
    std::vector<StagedRow> chunk;
    for (std::uint64_t i = first; i < first + n;) {
        chunk.clear();
        for (; i < first + n && chunk.size() < 8192; ++i) chunk.push_back(row_of(i, salt, change));
        const auto t = std::chrono::steady_clock::now();
        REQUIRE_FALSE(store.stage(run, chunk));
        slowest = std::max(slowest, seconds_since(t));
    }
    return slowest;
}

}  // namespace

TEST_CASE("sync store timings at 1,000,000 members", "[.sync_perf]") {
    constexpr std::uint64_t kRows = 1'000'000;
    TempDir tmp;
    auto spool = open_ok(config_for(tmp.file("spool.db"), 4ull << 30));
    SyncStore store(*spool);
    const auto key = key_of("perf");

    RunRecord first = running("req-perf-1", 1);
    REQUIRE_FALSE(store.begin_run(first));
    auto t = std::chrono::steady_clock::now();
    const double slowest = stage_range(store, first.id, 0, kRows, 1, StagedChange::added);
    const double staged_s = seconds_since(t);
    t = std::chrono::steady_clock::now();
    double cpu = cpu_seconds();
    std::int64_t id = 0;
    REQUIRE_FALSE(store.commit_run(commit_of(first.id, 0, key, 1, kRows, {}, 1), &id));
    const double commit_first = seconds_since(t);
    const double commit_first_cpu = cpu_seconds() - cpu;

    t = std::chrono::steady_clock::now();
    std::uint64_t n = 0;
    REQUIRE_FALSE(store.load_members(id, [&](std::uint64_t, std::uint64_t) { ++n; }));
    const double load_s = seconds_since(t);
    CHECK(n == kRows);

    // The second run: 1% changed, 0.1% new, 0.1% gone.
    RunRecord second = running("req-perf-2", 2);
    REQUIRE_FALSE(store.begin_run(second));
    t = std::chrono::steady_clock::now();
    stage_range(store, second.id, 0, 10'000, 2, StagedChange::changed);
    stage_range(store, second.id, kRows, 1'000, 1, StagedChange::added);
    stage_range(store, second.id, 10'000, 1'000, 1, StagedChange::removed);
    const double stage_second = seconds_since(t);
    t = std::chrono::steady_clock::now();
    cpu = cpu_seconds();
    REQUIRE_FALSE(store.commit_run(commit_of(second.id, id, key, 2, kRows, {}, 2), &id));
    const double commit_second = seconds_since(t);
    const double commit_second_cpu = cpu_seconds() - cpu;
    CHECK(store.baseline(id)->members == kRows);

    std::printf(
        "sync store, %llu members: stage %.2f s (slowest call of 8,192 rows %.1f ms), first commit %.2f s "
        "(CPU %.2f s), load_members %.2f s; second run (12,000 staged) stage %.1f ms, commit %.1f ms (CPU "
        "%.1f "
        "ms); file %.0f MB\n",
        static_cast<unsigned long long>(kRows), staged_s, slowest * 1000, commit_first, commit_first_cpu,
        load_s, stage_second * 1000, commit_second * 1000, commit_second_cpu * 1000,
        static_cast<double>(files_on_disk(tmp.file("spool.db"))) / 1e6);
}
