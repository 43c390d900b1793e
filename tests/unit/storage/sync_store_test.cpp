// Cohort sync's store and the run history (server/storage/sync_store.cpp, sync_store_runs.cpp),
// and the held batches of the spool they rely on.
#include "server/storage/sync_store.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "spool_test_support.hpp"
#include "sync_store_test_support.hpp"

using lsr::server::BaselineInfo;
using lsr::server::BaselineKey;
using lsr::server::NewBatch;
using lsr::server::RunCommit;
using lsr::server::RunRecord;
using lsr::server::Spool;
using lsr::server::SpoolErrc;
using lsr::server::StagedChange;
using lsr::server::StagedRow;
using lsr::server::SyncStore;
using namespace lsr::server::spool_test;
using namespace lsr::server::sync_test;

namespace {

constexpr std::int64_t kNow = 1'700'000'000'000;

}  // namespace

TEST_CASE("a first run's commit creates the baseline and releases its held batches", "[sync_store]") {
    TempDir tmp;
    const std::string path = tmp.file("spool.db");
    auto spool = open_ok(config_for(path));
    SyncStore store(*spool);
    const BaselineKey key = key_of("plan-1");

    std::optional<BaselineInfo> none;
    REQUIRE_FALSE(store.find_baseline(key, &none));
    CHECK_FALSE(none.has_value());

    RunRecord run = running("req-1", kNow);
    REQUIRE_FALSE(store.begin_run(run));
    CHECK(run.id > 0);
    const auto rows = members(0, 100, 1);
    REQUIRE_FALSE(store.stage(run.id, staged(rows, StagedChange::added)));
    const auto held = append_held(*spool, "wk", 3, "req-1");

    // Held: never leased, whatever the horizon, and the key reports nothing due.
    CHECK(spool->lease_due("wk", now_ms(), 10).empty());
    CHECK(spool->lease_due("wk", std::numeric_limits<std::int64_t>::max(), 10).empty());
    const auto keys = spool->write_keys();
    REQUIRE(keys.size() == 1);
    CHECK(keys[0].second == std::numeric_limits<std::int64_t>::max());
    CHECK(spool->stats().batches == 3);  // held batches are counted

    std::int64_t id = 0;
    REQUIRE_FALSE(store.commit_run(commit_of(run.id, 0, key, 1, rows.size(), held, kNow), &id));
    CHECK(id > 0);
    std::optional<BaselineInfo> found;
    REQUIRE_FALSE(store.find_baseline(key, &found));
    REQUIRE(found.has_value());
    CHECK(found->id == id);
    CHECK(found->generation == 1);
    CHECK(found->members == 100);
    CHECK(found->bytes == 100 * 16 + identity_bytes(rows));
    CHECK(found->title == "Churn risk");
    CHECK(found->mode == "audience");
    CHECK(found->created_ms == kNow);
    CHECK(found->last_run_ms == kNow);
    CHECK(found->key.write_key == "wk");
    CHECK(loaded(store, id) == as_map(rows));
    CHECK(stage_rows(path) == 0);

    std::vector<std::string> texts;
    REQUIRE_FALSE(store.identities(id, {rows.begin()->first, 12345}, &texts));
    REQUIRE(texts.size() == 2);
    CHECK(texts[0] == rows.begin()->second.identity);
    CHECK(texts[1].empty());

    const auto leased = spool->lease_due("wk", now_ms(), 10);
    CHECK(leased.size() == 3);
    const auto totals = store.totals();
    CHECK(totals.baselines == 1);
    CHECK(totals.rows == 100);
    CHECK(totals.bytes == found->bytes);
}

TEST_CASE("a second run's staged changes apply exactly", "[sync_store]") {
    TempDir tmp;
    auto spool = open_ok(config_for(tmp.file("spool.db")));
    SyncStore store(*spool);
    const BaselineKey key = key_of("plan-1");
    auto rows = members(0, 200, 1);
    const std::int64_t id = first_run(store, key, rows, kNow);

    // 20 new, 15 changed, 30 gone.
    std::vector<StagedRow> stage;
    const auto added = members(1000, 20, 1);
    for (const auto& row : staged(added, StagedChange::added)) stage.push_back(row);
    int n = 0;
    std::vector<std::uint64_t> gone;
    for (auto& [hash, m] : rows) {
        if (n < 15) {
            m.content = m.content * 31 + 7;
            stage.push_back({hash, m.content, m.identity, StagedChange::changed});
        } else if (n < 45) {
            stage.push_back({hash, 0, "", StagedChange::removed});
            gone.push_back(hash);
        }
        ++n;
    }
    auto expected = as_map(rows);
    for (const auto hash : gone) expected.erase(hash);
    for (const auto& [hash, m] : added) expected[hash] = m.content;
    auto after = rows;
    for (const auto hash : gone) after.erase(hash);
    for (const auto& row : added) after.insert(row);

    RunRecord run = running("req-2", kNow + 1000);
    REQUIRE_FALSE(store.begin_run(run));
    REQUIRE_FALSE(store.stage(run.id, stage));
    std::int64_t same = 0;
    REQUIRE_FALSE(store.commit_run(commit_of(run.id, id, key, 2, expected.size(), {}, kNow + 1000), &same));
    CHECK(same == id);
    const auto info = store.baseline(id);
    REQUIRE(info.has_value());
    CHECK(info->generation == 2);
    CHECK(info->members == 190);
    CHECK(info->bytes == 190 * 16 + identity_bytes(after));
    CHECK(info->created_ms == kNow);
    CHECK(info->last_run_ms == kNow + 1000);
    CHECK(loaded(store, id) == expected);
    std::vector<std::string> texts;
    REQUIRE_FALSE(store.identities(id, gone, &texts));
    for (const auto& t : texts) CHECK(t.empty());
    // Changed members keep their identity; new ones have theirs.
    const auto changed_row = *rows.begin();
    const auto added_row = *added.begin();
    REQUIRE_FALSE(store.identities(id, {changed_row.first, added_row.first}, &texts));
    CHECK(texts == std::vector<std::string>{changed_row.second.identity, added_row.second.identity});
}

TEST_CASE("abort deletes the run's held batches and stage, nothing else", "[sync_store]") {
    TempDir tmp;
    const std::string path = tmp.file("spool.db");
    auto spool = open_ok(config_for(path));
    SyncStore store(*spool);
    const auto plain = append_ok(*spool, {batch("wk", 2, 1000, "req-0")});
    RunRecord run = running("req-1", kNow);
    REQUIRE_FALSE(store.begin_run(run));
    REQUIRE_FALSE(store.stage(run.id, staged(members(0, 50, 1), StagedChange::added)));
    RunRecord other = running("req-2", kNow);
    REQUIRE_FALSE(store.begin_run(other));
    REQUIRE_FALSE(store.stage(other.id, staged(members(500, 5, 1), StagedChange::added)));
    const auto held = append_held(*spool, "wk", 2, "req-1");
    REQUIRE(spool->stats().batches == 3);

    REQUIRE_FALSE(store.abort_run(run.id, {held[0], held[1], plain[0], 999999}));
    const auto st = spool->stats();
    CHECK(st.batches == 1);  // the plain batch is not held: kept
    CHECK(spool->bytes_used() == st.bytes);
    CHECK(stage_rows(path) == 5);  // the other run's stage is kept
    CHECK(store.list_baselines().empty());
    const auto leased = spool->lease_due("wk", now_ms(), 10);
    REQUIRE(leased.size() == 1);
    CHECK(leased[0].id == plain[0]);
}

TEST_CASE("an exclusive open after a crash drops held batches and stages, marks runs process_ended",
          "[sync_store]") {
    TempDir tmp;
    const std::string path = tmp.file("spool.db");
    const NewBatch plain = batch("wk", 4, 1000, "req-0");
    std::int64_t run_id = 0;
    std::int64_t done_id = 0;
    {
        auto spool = open_ok(config_for(path));
        SyncStore store(*spool);
        RunRecord done = running("req-0", kNow);
        REQUIRE_FALSE(store.begin_run(done));
        done.outcome = "done";
        done.finished_ms = kNow + 5;
        REQUIRE_FALSE(store.finish_run(done));
        done_id = done.id;
        append_ok(*spool, {plain});
        RunRecord run = running("req-1", kNow + 10);
        REQUIRE_FALSE(store.begin_run(run));
        run_id = run.id;
        REQUIRE_FALSE(store.stage(run.id, staged(members(0, 300, 1), StagedChange::added)));
        append_held(*spool, "wk", 3, "req-1");
        // A second Spool of this process shares the lock: it drops nothing (the first may be
        // in the middle of a run).
        auto second = open_ok(config_for(path));
        CHECK(second->stats().batches == 4);
        CHECK(stage_rows(path) == 300);
    }  // the process "ends" without commit or abort
    auto spool = open_ok(config_for(path));
    SyncStore store(*spool);
    const auto st = spool->stats();
    CHECK(st.batches == 1);
    CHECK(st.bytes == plain.body.size());
    CHECK(spool->bytes_used() == plain.body.size());
    CHECK(stage_rows(path) == 0);
    const auto run = store.run(run_id);
    REQUIRE(run.has_value());
    CHECK(run->outcome == "process_ended");
    CHECK(run->finished_ms > 0);
    const auto done = store.run(done_id);
    REQUIRE(done.has_value());
    CHECK(done->outcome == "done");
    CHECK(done->finished_ms == kNow + 5);
    CHECK(spool->lease_due("wk", now_ms(), 10).size() == 1);
}

TEST_CASE("an operator's open (not exclusive) drops nothing", "[sync_store]") {
    TempDir tmp;
    const std::string path = tmp.file("spool.db");
    {
        auto spool = open_ok(config_for(path));
        SyncStore store(*spool);
        RunRecord run = running("req-1", kNow);
        REQUIRE_FALSE(store.begin_run(run));
        REQUIRE_FALSE(store.stage(run.id, staged(members(0, 10, 1), StagedChange::added)));
        append_held(*spool, "wk", 1, "req-1");
    }
    lsr::server::SpoolOpenOptions tool;
    tool.exclusive = false;
    auto spool = open_ok(config_for(path), tool);
    CHECK(spool->stats().batches == 1);
    CHECK(stage_rows(path) == 10);
    SyncStore store(*spool);
    const auto runs = store.list_runs(0, 10);
    REQUIRE(runs.size() == 1);
    CHECK(runs[0].outcome == "running");
}

TEST_CASE("commit refuses a baseline that changed since the run read it; nothing changes", "[sync_store]") {
    TempDir tmp;
    const std::string path = tmp.file("spool.db");
    auto spool = open_ok(config_for(path));
    SyncStore store(*spool);
    const BaselineKey key = key_of("plan-1");
    const auto rows = members(0, 40, 1);
    const std::int64_t id = first_run(store, key, rows, kNow);

    RunRecord run = running("req-2", kNow);
    REQUIRE_FALSE(store.begin_run(run));
    REQUIRE_FALSE(store.stage(run.id, staged(members(100, 5, 1), StagedChange::added)));
    const auto held = append_held(*spool, "wk", 1, "req-2");
    std::int64_t out = 0;
    SECTION("generation already reached") {
        CHECK(store.commit_run(commit_of(run.id, id, key, 1, 45, held, kNow), &out) == SpoolErrc::conflict);
    }
    SECTION("a first run while the key has a baseline") {
        CHECK(store.commit_run(commit_of(run.id, 0, key, 1, 45, held, kNow), &out) == SpoolErrc::conflict);
    }
    SECTION("a baseline reset meanwhile") {
        bool found = false;
        REQUIRE_FALSE(store.reset_baseline(id, &found));
        REQUIRE(found);
        CHECK(store.commit_run(commit_of(run.id, id, key, 2, 45, held, kNow), &out) == SpoolErrc::conflict);
        CHECK(stage_rows(path) == 5);
        return;
    }
    SECTION("a statement fails after the rows were applied") {
        exec_on(path,
                "CREATE TRIGGER refuse BEFORE UPDATE ON sync_baselines BEGIN SELECT RAISE(ABORT, 'refused'); "
                "END");
        const auto error = store.commit_run(commit_of(run.id, id, key, 2, 45, held, kNow), &out);
        CHECK(error == SpoolErrc::io);
        CHECK(error.operation() == "commit_run: update baseline");
        exec_on(path, "DROP TRIGGER refuse");
    }
    CHECK(out == 0);
    CHECK(loaded(store, id) == as_map(rows));
    CHECK(store.baseline(id)->generation == 1);
    CHECK(store.baseline(id)->members == 40);
    CHECK(stage_rows(path) == 5);
    CHECK(spool->lease_due("wk", now_ms(), 10).empty());  // still held
    // The run can still be aborted (or committed right).
    REQUIRE_FALSE(store.commit_run(commit_of(run.id, id, key, 2, 45, held, kNow), &out));
    CHECK(store.baseline(id)->members == 45);
    CHECK(spool->lease_due("wk", now_ms(), 10).size() == 1);
}

TEST_CASE("release ids that are unknown or not held are harmless", "[sync_store]") {
    TempDir tmp;
    auto spool = open_ok(config_for(tmp.file("spool.db")));
    SyncStore store(*spool);
    const auto plain = append_ok(*spool, {batch("wk", 1)});
    REQUIRE_FALSE(spool->reschedule(plain[0], kNow * 2, "later"));
    RunRecord run = running("req-1", kNow);
    REQUIRE_FALSE(store.begin_run(run));
    const auto held = append_held(*spool, "wk", 1, "req-1");
    std::int64_t id = 0;
    REQUIRE_FALSE(store.commit_run(
        commit_of(run.id, 0, key_of("p"), 1, 0, {987654, plain[0], held[0]}, now_ms()), &id));
    const auto leased = spool->lease_due("wk", now_ms(), 10);
    REQUIRE(leased.size() == 1);  // the rescheduled batch keeps its time
    CHECK(leased[0].id == held[0]);
    CHECK(store.baseline(id)->members == 0);
}

TEST_CASE("stage and commit are not refused by the spool's room check", "[sync_store]") {
    TempDir tmp;
    auto spool = open_ok(config_for(tmp.file("spool.db"), kSmallSpool));
    SyncStore store(*spool);
    const NewBatch b = batch("wk", 200);
    const std::size_t filled = fill(*spool, b, 1000);
    REQUIRE(filled > 0);
    REQUIRE(spool->append({b}, nullptr) == SpoolErrc::full);
    RunRecord run = running("req-1", kNow);
    REQUIRE_FALSE(store.begin_run(run));
    const auto rows = members(0, 5000, 1);
    REQUIRE_FALSE(store.stage(run.id, staged(rows, StagedChange::added)));
    std::int64_t id = 0;
    REQUIRE_FALSE(store.commit_run(commit_of(run.id, 0, key_of("p"), 1, rows.size(), {}, kNow), &id));
    CHECK(store.baseline(id)->members == 5000);
}
