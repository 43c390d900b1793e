// The run history (server/storage/sync_store_runs.cpp), forgetting baselines, and a spool
// of schema version 2 raised to 3.
#include <sqlite3.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "server/storage/sync_store.hpp"
#include "spool_test_support.hpp"
#include "sync_store_test_support.hpp"

using lsr::server::RunRecord;
using lsr::server::Spool;
using lsr::server::SpoolErrc;
using lsr::server::SyncStore;
using namespace lsr::server::spool_test;
using namespace lsr::server::sync_test;

namespace {

constexpr std::int64_t kNow = 1'700'000'000'000;

// The tables of a version-2 spool, as a relay of that version created them.
constexpr const char* kVersion2 = R"sql(
CREATE TABLE batches (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    write_key TEXT NOT NULL,
    events INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    request_id TEXT NOT NULL DEFAULT '',
    created_ms INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms INTEGER NOT NULL,
    last_error TEXT NOT NULL DEFAULT '',
    body BLOB NOT NULL
);
CREATE INDEX batches_due ON batches (write_key, next_attempt_ms, created_ms);
CREATE INDEX batches_age ON batches (write_key, created_ms, events, bytes);
CREATE TABLE dead_letters (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    write_key TEXT NOT NULL,
    events INTEGER NOT NULL,
    status INTEGER NOT NULL,
    reason TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    dead_ms INTEGER NOT NULL,
    attempts INTEGER NOT NULL,
    body BLOB NOT NULL
);
INSERT INTO batches (write_key, events, bytes, request_id, created_ms, attempts, next_attempt_ms, body)
    VALUES ('wk', 1, 36, 'req-old', 10, 0, 0, '{"type":"identify","userId":"old-1"}');
INSERT INTO dead_letters (write_key, events, status, reason, created_ms, dead_ms, attempts, body)
    VALUES ('wk', 1, 400, 'bad', 5, 6, 1, '{"type":"identify","userId":"old-0"}');
PRAGMA user_version=2;
)sql";

void write_version2(const std::string& path) {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) ==
            SQLITE_OK);
    const int rc = sqlite3_exec(db, "PRAGMA journal_mode=WAL", nullptr, nullptr, nullptr);
    sqlite3_close(db);
    REQUIRE(rc == SQLITE_OK);
    exec_on(path, kVersion2);
}

}  // namespace

TEST_CASE("runs are listed newest first, paged, with their delivery figures", "[sync_store]") {
    TempDir tmp;
    auto spool = open_ok(config_for(tmp.file("spool.db")));
    SyncStore store(*spool);
    std::vector<std::int64_t> ids;
    for (int i = 0; i < 3; ++i) {
        RunRecord r = running("req-" + std::to_string(i), kNow + i);
        REQUIRE_FALSE(store.begin_run(r));
        ids.push_back(r.id);
    }
    // Run 1 spooled 10 events in two batches (and a replay, without request id, is not its).
    const auto batches =
        append_ok(*spool, {batch("wk", 6, 1, "req-1"), batch("wk", 4, 2, "req-1"), batch("wk", 3, 3, "")});
    RunRecord one = *store.run(ids[1]);
    CHECK(one.outcome == "running");
    one.outcome = "done";
    one.finished_ms = kNow + 50;
    one.rows = 12;
    one.accepted = 10;
    one.rejected = 2;
    one.rejected_by_reason = {{"missing \"userId\"", 1}, {"too_large", 1}};
    one.added = 7;
    one.changed = 3;
    one.unchanged = 100;
    one.removed = 1;
    one.events = 10;
    one.success = true;
    one.answer = "12 rows: 3 changed, 7 new, 100 unchanged, 1 left; 10 events queued.";
    one.webhook_id = "wh-9";
    REQUIRE_FALSE(store.finish_run(one));

    auto page = store.list_runs(0, 2);
    REQUIRE(page.size() == 2);
    CHECK(page[0].id == ids[2]);
    CHECK(page[1].id == ids[1]);
    const RunRecord& got = page[1];
    CHECK(got.request_id == "req-1");
    CHECK(got.received_ms == kNow + 1);
    CHECK(got.finished_ms == kNow + 50);
    CHECK(got.instance == "looker.example.com");
    CHECK(got.plan_id == "plan-1");
    CHECK(got.title == "Churn risk");
    CHECK(got.action == "segment_audience");
    CHECK(got.webhook_id == "wh-9");
    CHECK(got.sync_mode == "audience");
    CHECK(got.outcome == "done");
    CHECK(got.rows == 12);
    CHECK(got.accepted == 10);
    CHECK(got.rejected == 2);
    CHECK(got.rejected_by_reason == one.rejected_by_reason);
    CHECK(got.added == 7);
    CHECK(got.changed == 3);
    CHECK(got.unchanged == 100);
    CHECK(got.removed == 1);
    CHECK(got.events == 10);
    CHECK(got.success);
    CHECK(got.answer == one.answer);
    CHECK(got.queued == 10);
    CHECK(got.dead_lettered == 0);
    CHECK(got.delivered == 0);
    CHECK(page[0].queued == 0);  // spooled nothing: no figures
    CHECK(page[0].delivered == 0);

    const auto rest = store.list_runs(page[1].id, 2);
    REQUIRE(rest.size() == 1);
    CHECK(rest[0].id == ids[0]);
    CHECK(store.list_runs(ids[0], 10).empty());
    CHECK(store.list_runs(0, 0).empty());

    auto leased = spool->lease_due("wk", now_ms(), 10);
    REQUIRE(leased.size() == 3);
    REQUIRE_FALSE(spool->mark_delivered(batches[0]));
    REQUIRE_FALSE(spool->dead_letter(batches[1], 400, "bad"));
    const auto after = store.run(ids[1]);
    REQUIRE(after.has_value());
    CHECK(after->queued == 0);
    CHECK(after->dead_lettered == 4);
    CHECK(after->delivered == 6);
    CHECK_FALSE(store.run(9999).has_value());

    RunRecord unknown = one;
    unknown.id = 9999;
    CHECK(store.finish_run(unknown) == SpoolErrc::not_found);
}

TEST_CASE("a dead letter keeps its batch's request id", "[sync_store]") {
    TempDir tmp;
    const std::string path = tmp.file("spool.db");
    auto spool = open_ok(config_for(path));
    const auto ids = append_ok(*spool, {batch("wk", 2, 1, "req-dead")});
    REQUIRE(spool->lease_due("wk", now_ms(), 1).size() == 1);
    REQUIRE_FALSE(spool->dead_letter(ids[0], 400, "bad"));
    CHECK(query_on(path, "SELECT count(*) FROM dead_letters WHERE request_id = 'req-dead'") == 1);
    std::size_t replayed = 0;
    REQUIRE_FALSE(spool->replay_dead_letters({}, &replayed));
    CHECK(replayed == 1);
}

TEST_CASE("runs are pruned by age; baselines forgotten by their last run, or reset", "[sync_store]") {
    TempDir tmp;
    const std::string path = tmp.file("spool.db");
    auto spool = open_ok(config_for(path));
    SyncStore store(*spool);
    const std::int64_t old_id = first_run(store, key_of("old"), members(0, 50, 1), kNow);
    const std::int64_t new_id = first_run(store, key_of("new"), members(0, 30, 2), kNow + 10'000);
    const std::int64_t other = first_run(store, key_of("new", "wk2"), members(0, 20, 3), kNow + 10'000);
    CHECK(store.list_baselines().size() == 3);
    CHECK(store.totals().rows == 100);

    std::size_t n = 99;
    REQUIRE_FALSE(store.prune_runs(kNow + 5'000, &n));
    CHECK(n == 1);
    CHECK(store.list_runs(0, 10).size() == 2);

    REQUIRE_FALSE(store.forget_baselines(kNow + 5'000, &n));
    CHECK(n == 1);
    CHECK_FALSE(store.baseline(old_id).has_value());
    CHECK(query_on(path, "SELECT count(*) FROM sync_rows WHERE baseline_id = " + std::to_string(old_id)) ==
          0);
    CHECK(loaded(store, new_id).size() == 30);
    const auto totals = store.totals();
    CHECK(totals.baselines == 2);
    CHECK(totals.rows == 50);

    bool found = false;
    const std::int64_t generation = store.baseline(new_id)->generation;
    REQUIRE_FALSE(store.reset_baseline(new_id, &found));
    CHECK(found);
    CHECK(loaded(store, new_id).empty());
    CHECK(loaded(store, other).size() == 20);  // another write key's baseline is its own
    // The baseline stays, empty, one generation on (new messageIds for its next run).
    std::optional<lsr::server::BaselineInfo> info;
    REQUIRE_FALSE(store.find_baseline(key_of("new"), &info));
    REQUIRE(info.has_value());
    CHECK(info->members == 0);
    CHECK(info->generation == generation + 1);
    REQUIRE_FALSE(store.reset_baseline(-5, &found));
    CHECK_FALSE(found);
}

TEST_CASE("a version-2 spool is raised to 3 and keeps its batches and dead letters", "[sync_store][spool]") {
    TempDir tmp;
    const std::string path = tmp.file("spool.db");
    write_version2(path);
    lsr::server::SpoolOpenOptions options;
    SECTION("by the relay") {}
    SECTION("by an operator tool") {
        options.exclusive = false;
    }
    auto spool = open_ok(config_for(path), options);
    CHECK(query_on(path, "PRAGMA user_version") == 3);
    const auto st = spool->stats();
    CHECK(st.batches == 1);
    CHECK(st.dead_letters == 1);
    CHECK(spool->bytes_used() == 36);
    const auto dead = spool->list_dead_letters(10, true);
    REQUIRE(dead.size() == 1);
    CHECK(dead[0].body == R"({"type":"identify","userId":"old-0"})");
    auto leased = spool->lease_due("wk", now_ms(), 10);
    REQUIRE(leased.size() == 1);
    CHECK(leased[0].request_id == "req-old");
    REQUIRE_FALSE(spool->dead_letter(leased[0].id, 500, "gave up"));
    CHECK(query_on(path, "SELECT count(*) FROM dead_letters WHERE request_id = 'req-old'") == 1);
    std::size_t replayed = 0;
    REQUIRE_FALSE(spool->replay_dead_letters({}, &replayed));
    CHECK(replayed == 2);

    SyncStore store(*spool);
    const std::int64_t id = first_run(store, key_of("p"), members(0, 10, 1), kNow);
    CHECK(loaded(store, id).size() == 10);
    spool.reset();
    // Raised once: the next open finds version 3 and everything in place.
    auto again = open_ok(config_for(path));
    CHECK(again->stats().batches == 2);
    CHECK(SyncStore(*again).list_baselines().size() == 1);
}

TEST_CASE("a version-3 file numbered 2 again (an older relay rewrote it) is raised again",
          "[sync_store][spool]") {
    TempDir tmp;
    const std::string path = tmp.file("spool.db");
    { open_ok(config_for(path)); }
    exec_on(path, "PRAGMA user_version=2");  // what a version-2 relay's writable() check writes
    auto spool = open_ok(config_for(path));
    CHECK(query_on(path, "PRAGMA user_version") == 3);
    CHECK(query_on(path,
                   "SELECT count(*) FROM pragma_table_info('dead_letters') WHERE name = 'request_id'") == 1);
}
