// SyncHousekeeper: forgets baselines without a run for sync.forget_after_days and prunes runs
// older than runs.keep_days; 0 days: never.
#include "server/service/sync_housekeeper.hpp"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <thread>

#include "core/manual_clock.hpp"
#include "server/net/logger.hpp"
#include "server/storage/spool.hpp"
#include "server/storage/sync_store.hpp"

namespace fs = std::filesystem;
using namespace lsr::server;

namespace {

constexpr std::int64_t kDay = 86'400'000;

struct Store {
    fs::path dir = fs::temp_directory_path() / ("lsr-housekeeper-" + std::to_string(::getpid()));
    std::unique_ptr<Spool> spool;

    Store() {
        fs::remove_all(dir);
        lsr::config::SpoolConfig cfg;
        cfg.path = (dir / "spool.db").string();
        std::error_code ec;
        std::string message;
        spool = Spool::open(cfg, ec, message);
        REQUIRE(spool);
    }
    ~Store() {
        spool.reset();
        std::error_code ec;
        fs::remove_all(dir, ec);
    }

    // A run received at `at`, and the baseline of plan `plan` committed by it.
    void run_and_baseline(const std::string& plan, std::int64_t at) {
        SyncStore store(*spool);
        RunRecord r;
        r.received_ms = at;
        r.plan_id = plan;
        REQUIRE_FALSE(store.begin_run(r));
        r.finished_ms = at;
        r.outcome = "done";
        REQUIRE_FALSE(store.finish_run(r));
        RunCommit c;
        c.run_id = r.id;
        c.key = {"i", plan, "segment_event", "wk_" + plan};
        c.mode = "changes";
        c.generation = 1;
        c.now_ms = at;
        std::int64_t id = 0;
        REQUIRE_FALSE(store.commit_run(c, &id));
    }
};

}  // namespace

TEST_CASE("SyncHousekeeper drops what is older than the configured days", "[sync_housekeeper]") {
    Store s;
    const std::int64_t now = 1'800'000'000'000;
    s.run_and_baseline("old", now - 100 * kDay);
    s.run_and_baseline("month", now - 40 * kDay);
    s.run_and_baseline("new", now - 1 * kDay);
    lsr::core::ManualClock clock(now);
    Logger log{LogLevel::error};
    lsr::config::SyncConfig sync;  // forget_after_days 90
    lsr::config::RunsConfig runs;  // keep_days 30
    SyncHousekeeper keeper(*s.spool, sync, runs, log, clock);
    const auto swept = keeper.sweep();
    CHECK(swept.baselines == 1);
    CHECK(swept.runs == 2);
    SyncStore store(*s.spool);
    const auto baselines = store.list_baselines();
    REQUIRE(baselines.size() == 2);
    for (const auto& b : baselines) CHECK(b.key.plan_id != "old");
    const auto left = store.list_runs(0, 10);
    REQUIRE(left.size() == 1);
    CHECK(left[0].plan_id == "new");
    // Nothing more to drop: a second sweep drops nothing.
    const auto again = keeper.sweep();
    CHECK(again.baselines == 0);
    CHECK(again.runs == 0);
}

TEST_CASE("SyncHousekeeper: 0 days keeps everything", "[sync_housekeeper]") {
    Store s;
    const std::int64_t now = 1'800'000'000'000;
    s.run_and_baseline("ancient", now - 3000 * kDay);
    lsr::core::ManualClock clock(now);
    Logger log{LogLevel::error};
    lsr::config::SyncConfig sync;
    sync.forget_after_days = 0;
    lsr::config::RunsConfig runs;
    runs.keep_days = 0;
    SyncHousekeeper keeper(*s.spool, sync, runs, log, clock);
    const auto swept = keeper.sweep();
    CHECK(swept.baselines == 0);
    CHECK(swept.runs == 0);
    SyncStore store(*s.spool);
    CHECK(store.list_baselines().size() == 1);
    CHECK(store.list_runs(0, 10).size() == 1);
}

TEST_CASE("SyncHousekeeper sweeps at start on its own thread", "[sync_housekeeper]") {
    Store s;
    const std::int64_t now = 1'800'000'000'000;
    s.run_and_baseline("old", now - 100 * kDay);
    lsr::core::ManualClock clock(now);
    Logger log{LogLevel::error};
    SyncHousekeeper keeper(*s.spool, lsr::config::SyncConfig{}, lsr::config::RunsConfig{}, log, clock);
    keeper.start(std::chrono::hours(1));
    SyncStore store(*s.spool);
    // Generous bound: the first sweep runs at once (baselines first, then runs: wait for both).
    for (int i = 0; i < 1000 && !(store.list_baselines().empty() && store.list_runs(0, 10).empty()); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    CHECK(store.list_baselines().empty());
    CHECK(store.list_runs(0, 10).empty());
}
