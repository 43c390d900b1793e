// A failed Spool call carries its own SQLite detail: the step that failed, SQLite's message
// and extended result code (server/storage/spool_error.cpp).
#include "server/storage/spool_error.hpp"

#include <sqlite3.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <string>
#include <thread>
#include <vector>

#include "spool_test_support.hpp"

using lsr::server::SpoolErrc;
using lsr::server::SpoolError;
using namespace lsr::server::spool_test;

namespace {

// A trigger that makes SQLite refuse `event` on `table` with `message` (when `when` holds).
std::string refuse(const std::string& name, const std::string& event, const std::string& table,
                   const std::string& message, const std::string& when = "") {
    return "CREATE TRIGGER " + name + " BEFORE " + event + " ON " + table +
           (when.empty() ? "" : " WHEN " + when) + " BEGIN SELECT RAISE(ABORT, '" + message + "'); END;";
}

}  // namespace

TEST_CASE("a spool error without SQLite detail is its code alone", "[spool][spool_error]") {
    const SpoolError none;
    CHECK_FALSE(none);
    CHECK(none == std::error_code{});
    CHECK(none.detail().empty());
    const SpoolError full = make_error_code(SpoolErrc::full);
    CHECK(full);
    CHECK(full == SpoolErrc::full);
    CHECK(std::error_code(full) == SpoolErrc::full);
    CHECK(full.message() == std::error_code(SpoolErrc::full).message());
    CHECK(full.detail().empty());
    CHECK(full.sqlite_code() == 0);
}

TEST_CASE("a spool error's detail names the step, SQLite's message and its result code",
          "[spool][spool_error]") {
    const SpoolError e(make_error_code(SpoolErrc::io), "append: insert", SQLITE_IOERR_WRITE,
                       "disk I/O error");
    CHECK(e == SpoolErrc::io);
    CHECK(e.operation() == "append: insert");
    CHECK(e.detail() == "append: insert: disk I/O error (SQLite result code 778)");
    const SpoolError own(make_error_code(SpoolErrc::io), "reschedule", SQLITE_FULL, "out of room on /var");
    CHECK(own.detail() ==
          "reschedule: out of room on /var (database or disk is full, SQLite result code 13)");
}

TEST_CASE("a failing statement reports its step and SQLite's message", "[spool][spool_error]") {
    TempDir tmp;
    const std::string path = tmp.file("spool.db");
    auto spool = open_ok(config_for(path));
    const auto ids = append_ok(*spool, {batch("wk", 2), batch("wk", 3)});

    SECTION("append") {
        exec_on(path, refuse("no_insert", "INSERT", "batches", "inserts refused by the test"));
        std::vector<std::int64_t> new_ids{7};
        const SpoolError e = spool->append({batch("wk", 1)}, &new_ids);
        CHECK(e == SpoolErrc::io);
        CHECK(e.operation() == "append: insert");
        CHECK(e.sqlite_code() == SQLITE_CONSTRAINT_TRIGGER);
        CHECK(e.sqlite_message() == "inserts refused by the test");
        CHECK(e.detail().find("append: insert: inserts refused by the test") != std::string::npos);
        CHECK(new_ids.empty());
        CHECK(spool->stats().batches == 2);  // nothing written
    }
    SECTION("a settle") {
        exec_on(path, refuse("no_delete", "DELETE", "batches", "deletes refused by the test"));
        REQUIRE(spool->lease_due("wk", now_ms(), 10).size() == 2);
        const SpoolError delivered = spool->mark_delivered(ids[0]);
        CHECK(delivered == SpoolErrc::io);
        CHECK(delivered.operation() == "mark_delivered");
        CHECK(delivered.sqlite_message() == "deletes refused by the test");
        const SpoolError dead = spool->dead_letter(ids[1], 400, "bad");
        CHECK(dead.operation() == "dead_letter: delete");
        CHECK(dead.sqlite_message() == "deletes refused by the test");
        CHECK(spool->stats().dead_letters == 0);  // rolled back with the delete
        exec_on(path, "DROP TRIGGER no_delete");
        spool->release_all_leases();
        CHECK(spool->lease_due("wk", now_ms(), 10).size() == 2);
        CHECK(spool->mark_delivered(ids[0]) == std::error_code{});
    }
    SECTION("an operator function") {
        REQUIRE(spool->dead_letter(ids[0], 400, "bad") == std::error_code{});
        exec_on(path, refuse("no_purge", "DELETE", "dead_letters", "purges refused by the test"));
        const SpoolError purge = spool->purge_dead_letters(nullptr);
        CHECK(purge.operation() == "purge dead letters");
        CHECK(purge.sqlite_message() == "purges refused by the test");
        exec_on(path, refuse("no_replay", "INSERT", "batches", "replays refused by the test"));
        const SpoolError replay = spool->replay_dead_letters({}, nullptr);
        CHECK(replay.operation() == "replay: insert");
        CHECK(replay.sqlite_message() == "replays refused by the test");
        CHECK(spool->stats().dead_letters == 1);
    }
}

TEST_CASE("two threads whose calls fail each get their own detail", "[spool][spool_error]") {
    TempDir tmp;
    const std::string path = tmp.file("spool.db");
    auto spool = open_ok(config_for(path));
    exec_on(path, refuse("refuse_a", "INSERT", "batches", "refused for a", "NEW.write_key = 'a'") +
                      refuse("refuse_b", "INSERT", "batches", "refused for b", "NEW.write_key = 'b'"));
    constexpr int kCalls = 200;
    std::atomic<int> failed{0};
    std::atomic<int> foreign{0};  // Catch2's assertions are not thread-safe: count, check after
    std::vector<std::thread> threads;
    for (const std::string key : {"a", "b"}) {
        threads.emplace_back([&, key] {
            for (int i = 0; i < kCalls; ++i) {
                const SpoolError e = spool->append({batch(key, 1)}, nullptr);
                if (e) ++failed;
                if (e.sqlite_message() != "refused for " + key) ++foreign;
            }
        });
    }
    for (auto& t : threads) t.join();
    CHECK(failed.load() == 2 * kCalls);
    CHECK(foreign.load() == 0);
}
