// The spool's hot path: append, lease, settle (server/storage/spool.cpp).
#include "server/storage/spool.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "core/manual_clock.hpp"
#include "spool_test_support.hpp"

namespace fs = std::filesystem;
using lsr::server::DeadLetter;
using lsr::server::NewBatch;
using lsr::server::Spool;
using lsr::server::SpoolBatch;
using lsr::server::SpoolErrc;
using lsr::server::SpoolOpenOptions;
using namespace lsr::server::spool_test;

TEST_CASE("append, lease_due and mark_delivered", "[spool]") {
    TempDir tmp;
    auto spool = open_ok(config_for(tmp.file("spool.db")));
    const auto b1 = batch("wk1", 3, 100, "req-a");
    const auto b2 = batch("wk1", 2, 200, "req-b");
    const auto b3 = batch("wk2", 1, 50, "");
    const auto ids = append_ok(*spool, {b1, b2, b3});
    CHECK(ids[0] < ids[1]);
    CHECK(ids[1] < ids[2]);
    CHECK(spool->bytes_used() == b1.body.size() + b2.body.size() + b3.body.size());

    auto leased = spool->lease_due("wk1", now_ms(), 10);
    REQUIRE(leased.size() == 2);
    CHECK(leased[0].id == ids[0]);
    CHECK(leased[0].write_key == "wk1");
    CHECK(leased[0].body == b1.body);
    CHECK(leased[0].events == 3);
    CHECK(leased[0].request_id == "req-a");
    CHECK(leased[0].created_ms == 100);
    CHECK(leased[0].attempts == 0);
    CHECK(leased[0].last_error.empty());
    CHECK(leased[1].id == ids[1]);
    CHECK(spool->leased_count() == 2);

    // Leased batches are not handed out twice.
    CHECK(spool->lease_due("wk1", now_ms(), 10).empty());

    CHECK(spool->mark_delivered(ids[0]) == std::error_code{});
    CHECK(spool->mark_delivered(ids[0]) == SpoolErrc::not_found);
    CHECK(spool->bytes_used() == b2.body.size() + b3.body.size());
    CHECK(spool->leased_count() == 1);

    const auto st = spool->stats();
    CHECK(st.batches == 2);
    CHECK(st.events == 3);
    CHECK(st.bytes == b2.body.size() + b3.body.size());
    CHECK(st.oldest_created_ms == 50);
    CHECK(st.file_bytes > 0);
}

TEST_CASE("append of nothing is a no-op", "[spool]") {
    TempDir tmp;
    auto spool = open_ok(config_for(tmp.file("spool.db")));
    std::vector<std::int64_t> ids{42};
    CHECK(spool->append({}, &ids) == std::error_code{});
    CHECK(ids.empty());
    CHECK(spool->stats().batches == 0);
}

TEST_CASE("lease_due honours the limit, the due time and the oldest-first order", "[spool]") {
    TempDir tmp;
    auto spool = open_ok(config_for(tmp.file("spool.db")));
    const auto ids = append_ok(*spool, {batch("wk", 1, 300), batch("wk", 1, 100), batch("wk", 1, 200)});
    auto first = spool->lease_due("wk", now_ms(), 2);
    REQUIRE(first.size() == 2);
    CHECK(first[0].id == ids[1]);  // created 100
    CHECK(first[1].id == ids[2]);  // created 200
    // Not due before its time.
    CHECK(spool->lease_due("wk", 0, 10).empty());
    CHECK(spool->lease_due("other", now_ms(), 10).empty());
    CHECK(spool->lease_due("wk", now_ms(), 0).empty());
    auto rest = spool->lease_due("wk", now_ms(), 10);
    REQUIRE(rest.size() == 1);
    CHECK(rest[0].id == ids[0]);
    spool->release_all_leases();
    CHECK(spool->leased_count() == 0);
    CHECK(spool->lease_due("wk", now_ms(), 10).size() == 3);
}

TEST_CASE("reschedule counts the attempt, records the error and releases the lease", "[spool]") {
    TempDir tmp;
    auto spool = open_ok(config_for(tmp.file("spool.db")));
    const auto ids = append_ok(*spool, {batch("wk", 2)});
    REQUIRE(spool->lease_due("wk", now_ms(), 1).size() == 1);
    const std::int64_t later = now_ms() + 60'000;
    CHECK(spool->reschedule(ids[0], later, "503 from Segment") == std::error_code{});
    CHECK(spool->leased_count() == 0);
    CHECK(spool->lease_due("wk", later - 1, 10).empty());
    auto again = spool->lease_due("wk", later, 10);
    REQUIRE(again.size() == 1);
    CHECK(again[0].attempts == 1);
    CHECK(again[0].next_attempt_ms == later);
    CHECK(again[0].last_error == "503 from Segment");
    CHECK(spool->reschedule(ids[0], later, "again") == std::error_code{});
    CHECK(spool->reschedule(999'999, later, "x") == SpoolErrc::not_found);
    spool->release_all_leases();
    CHECK(spool->lease_due("wk", later, 10).at(0).attempts == 2);
}

TEST_CASE("write_keys lists every key with the earliest unleased due time", "[spool]") {
    TempDir tmp;
    auto spool = open_ok(config_for(tmp.file("spool.db")));
    const auto ids = append_ok(*spool, {batch("b", 1), batch("a", 1), batch("a", 1)});
    REQUIRE(spool->reschedule(ids[1], 5'000'000'000'000, "x") == std::error_code{});
    auto keys = spool->write_keys();
    REQUIRE(keys.size() == 2);
    CHECK(keys[0].first == "a");
    CHECK(keys[1].first == "b");
    CHECK(keys[0].second <= now_ms());  // ids[2] is due now
    CHECK(keys[1].second <= now_ms());
    REQUIRE(spool->lease_due("a", now_ms(), 10).size() == 1);  // ids[2]
    keys = spool->write_keys();
    CHECK(keys[0].second == 5'000'000'000'000);
    REQUIRE(spool->lease_due("b", now_ms(), 10).size() == 1);
    keys = spool->write_keys();
    REQUIRE(keys.size() == 2);
    CHECK(keys[1].second == std::numeric_limits<std::int64_t>::max());
}

TEST_CASE("a full spool refuses the whole append and leaves everything intact", "[spool]") {
    TempDir tmp;
    const auto b = batch("wk", 4000);  // about 150 KB
    auto spool = open_ok(config_for(tmp.file("spool.db"), kSmallSpool));
    const std::size_t fitted = fill(*spool, b);
    REQUIRE(fitted >= 1);
    REQUIRE(fitted < 64);
    const auto before = spool->stats();
    CHECK(before.batches == fitted);

    std::vector<std::int64_t> refused_ids{7};
    CHECK(spool->append({b}, &refused_ids) == SpoolErrc::full);
    CHECK(refused_ids.empty());
    const auto after = spool->stats();
    CHECK(after.batches == before.batches);
    CHECK(after.bytes == before.bytes);
    CHECK(after.events == before.events);

    // A vector is all or nothing: one that would not fit writes none of its batches.
    spool->purge_batches(nullptr);
    CHECK(spool->append(std::vector<NewBatch>(fitted + 1, b), nullptr) == SpoolErrc::full);
    CHECK(spool->stats().batches == 0);
    // The pages the purge freed are used again: as much fits as before.
    CHECK(fill(*spool, b) == fitted);

    const auto leased = spool->lease_due("wk", now_ms(), 100);
    REQUIRE(leased.size() == fitted);
    CHECK(leased[0].body == b.body);
    // Room again once a batch is delivered.
    REQUIRE(spool->mark_delivered(leased[0].id) == std::error_code{});
    CHECK(spool->append({b}, nullptr) == std::error_code{});
    CHECK(std::error_code(SpoolErrc::full).message().find("full") != std::string::npos);
}

TEST_CASE("max_bytes bounds the spool's files on disk, WAL, free pages and retries included", "[spool]") {
    TempDir tmp;
    const std::string path = tmp.file("spool.db");
    auto cfg = config_for(path, kSmallSpool);
    cfg.synchronous_full = false;  // many small commits
    auto spool = open_ok(cfg);
    const auto big = batch("wk", 4000);
    const auto medium = batch("wk", 1500);
    const auto tiny = batch("wk", 40);  // well under a page: fills the last gaps
    // Batches of all sizes until nothing fits, delivered now and then (which frees pages and
    // writes the WAL), retried (which rewrites whole rows): the files never exceed the bound.
    for (int round = 0; round < 4; ++round) {
        for (const auto* b : {&big, &medium, &tiny}) {
            for (int i = 0; i < 300 && spool->append({*b}, nullptr) == std::error_code{}; ++i) {
                CHECK(files_on_disk(path) <= kSmallSpool);
            }
        }
        CHECK(files_on_disk(path) <= kSmallSpool);
        // Retries rewrite their rows (a longer last error): new pages before the old are freed.
        for (int retry = 0; retry < 3; ++retry) {
            for (const auto& l : spool->lease_due("wk", now_ms(), 100)) {
                REQUIRE(spool->reschedule(l.id, 0, std::string(100 + 50 * retry, 'e')) == std::error_code{});
                CHECK(files_on_disk(path) <= kSmallSpool);
            }
        }
        auto leased = spool->lease_due("wk", now_ms(), 3);
        for (const auto& l : leased) REQUIRE(spool->mark_delivered(l.id) == std::error_code{});
        CHECK(files_on_disk(path) <= kSmallSpool);
    }
    CHECK(spool->stats().file_bytes <= kSmallSpool);
    CHECK(spool->bytes_used() < kSmallSpool);
}

TEST_CASE("new work is refused while the filesystem is below min_free_bytes", "[spool]") {
    TempDir tmp;
    auto cfg = config_for(tmp.file("spool.db"));
    cfg.min_free_bytes = 1ull << 62;  // more than any test machine has free
    {
        auto spool = open_ok(cfg);
        CHECK(spool->room() == SpoolErrc::low_space);
        CHECK(spool->append({batch("wk", 2)}, nullptr) == SpoolErrc::low_space);
        CHECK(spool->stats().batches == 0);
        CHECK(std::error_code(SpoolErrc::low_space).message().find("min_free_bytes") != std::string::npos);
    }
    cfg.min_free_bytes = 0;
    auto spool = open_ok(cfg);
    CHECK(spool->room() == std::error_code{});
    append_ok(*spool, {batch("wk", 2)});
}

TEST_CASE("room() refuses once the spool is full", "[spool]") {
    TempDir tmp;
    auto spool = open_ok(config_for(tmp.file("spool.db"), kSmallSpool));
    CHECK(spool->room() == std::error_code{});
    fill(*spool, batch("wk", 4000));
    fill(*spool, batch("wk", 1500));
    fill(*spool, batch("wk", 50), 1000);  // under one page: the smallest write there is
    CHECK(spool->room() == SpoolErrc::full);
}

TEST_CASE("split replaces a batch by two that keep its identity", "[spool]") {
    TempDir tmp;
    auto spool = open_ok(config_for(tmp.file("spool.db")));
    const auto ids = append_ok(*spool, {batch("wk", 4, 777, "req-s")});
    REQUIRE(spool->lease_due("wk", now_ms(), 1).size() == 1);
    REQUIRE(spool->reschedule(ids[0], 0, "400") == std::error_code{});
    REQUIRE(spool->lease_due("wk", now_ms(), 1).size() == 1);
    std::int64_t first = 0;
    std::int64_t second = 0;
    CHECK(spool->split(ids[0], "{\"a\":1},\n{\"a\":2}", 2, "{\"a\":3}", 1, &first, &second) ==
          std::error_code{});
    CHECK(first != 0);
    CHECK(second != 0);
    CHECK(first != second);
    CHECK(spool->leased_count() == 0);
    CHECK(spool->mark_delivered(ids[0]) == SpoolErrc::not_found);
    auto parts = spool->lease_due("wk", now_ms(), 10);
    REQUIRE(parts.size() == 2);
    CHECK(parts[0].id == first);
    CHECK(parts[0].body == "{\"a\":1},\n{\"a\":2}");
    CHECK(parts[0].events == 2);
    CHECK(parts[1].id == second);
    CHECK(parts[1].events == 1);
    for (const auto& p : parts) {
        CHECK(p.write_key == "wk");
        CHECK(p.request_id == "req-s");
        CHECK(p.created_ms == 777);
        CHECK(p.attempts == 1);
        CHECK(p.next_attempt_ms <= now_ms());
    }
    const auto st = spool->stats();
    CHECK(st.batches == 2);
    CHECK(st.events == 3);
    CHECK(st.bytes == std::string("{\"a\":1},\n{\"a\":2}").size() + std::string("{\"a\":3}").size());
    CHECK(spool->bytes_used() == st.bytes);
    CHECK(spool->split(424242, "x", 1, "y", 1, &first, &second) == SpoolErrc::not_found);
    CHECK(spool->stats().batches == 2);
}

TEST_CASE("dead_letter moves the batch with its body; list shows it", "[spool]") {
    TempDir tmp;
    auto spool = open_ok(config_for(tmp.file("spool.db")));
    const auto b = batch("wk-secret", 5, 1234);
    const auto ids = append_ok(*spool, {b, batch("wk-secret", 1, 5000)});
    REQUIRE(spool->lease_due("wk-secret", now_ms(), 1).size() == 1);
    const std::int64_t before = now_ms();
    CHECK(spool->dead_letter(ids[0], 400, "invalid event: traits not flat") == std::error_code{});
    CHECK(spool->dead_letter(ids[0], 400, "again") == SpoolErrc::not_found);
    CHECK(spool->leased_count() == 0);

    const auto st = spool->stats();
    CHECK(st.batches == 1);
    CHECK(st.dead_letters == 1);
    CHECK(st.dead_letter_events == 5);
    CHECK(spool->bytes_used() == st.bytes);

    auto listed = spool->list_dead_letters(10, false);
    REQUIRE(listed.size() == 1);
    const DeadLetter& d = listed[0];
    CHECK(d.id > 0);
    CHECK(d.write_key == "wk-secret");
    CHECK(d.events == 5);
    CHECK(d.status == 400);
    CHECK(d.reason == "invalid event: traits not flat");
    CHECK(d.created_ms == 1234);
    CHECK(d.dead_ms >= before);
    CHECK(d.attempts == 1);
    CHECK(d.body.empty());
    auto with_body = spool->list_dead_letters(10, true);
    REQUIRE(with_body.size() == 1);
    CHECK(with_body[0].body == b.body);
    CHECK(spool->list_dead_letters(0, false).empty());
}

TEST_CASE("a second connection's changes are seen by the running spool", "[spool]") {
    TempDir tmp;
    const auto b = batch("wk", 4000);
    const auto cfg = config_for(tmp.file("spool.db"), kSmallSpool);
    auto relay = open_ok(cfg);
    REQUIRE(fill(*relay, b) >= 1);
    CHECK(relay->append({b}, nullptr) == SpoolErrc::full);
    {
        auto tool = open_ok(cfg);  // e.g. `spool purge --batches` while the relay runs
        REQUIRE(tool->purge_batches(nullptr) == std::error_code{});
    }
    CHECK(relay->bytes_used() == 0);
    CHECK(relay->append({b}, nullptr) == std::error_code{});
}

TEST_CASE("the spool is safe to use from several threads", "[spool]") {
    TempDir tmp;
    auto spool = open_ok(config_for(tmp.file("spool.db")));
    constexpr int kPerThread = 50;
    std::vector<std::thread> threads;
    std::atomic<int> failures{0};  // Catch2's assertions are not thread-safe: count, check after
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            const std::string key = "wk" + std::to_string(t);
            for (int i = 0; i < kPerThread; ++i) {
                std::vector<std::int64_t> ids;
                if (spool->append({batch(key, 3)}, &ids)) ++failures;
                auto leased = spool->lease_due(key, now_ms(), 1);
                if (!leased.empty() && spool->mark_delivered(leased[0].id)) ++failures;
            }
        });
    }
    for (auto& th : threads) th.join();
    CHECK(failures.load() == 0);
    const auto st = spool->stats();
    CHECK(st.batches == 0);
    CHECK(st.bytes == 0);
    CHECK(spool->bytes_used() == 0);
}

TEST_CASE("what append returned survives a SIGKILL of the process", "[spool]") {
    TempDir tmp;
    const auto cfg = config_for(tmp.file("spool.db"));
    const auto b = batch("wk", 100);
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        // The child appends, settles one batch, and is killed without closing anything.
        std::error_code ec;
        std::string message;
        auto spool = Spool::open(cfg, ec, message);
        if (!spool) ::_exit(3);
        std::vector<std::int64_t> ids;
        for (int i = 0; i < 5; ++i) {
            if (spool->append({b, b}, &ids)) ::_exit(4);
        }
        if (spool->mark_delivered(ids[0])) ::_exit(5);
        ::raise(SIGKILL);
        ::_exit(6);
    }
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    REQUIRE(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGKILL);
    auto spool = open_ok(cfg);
    const auto st = spool->stats();
    CHECK(st.batches == 9);
    CHECK(st.bytes == 9 * b.body.size());
    CHECK(spool->bytes_used() == st.bytes);
    const auto leased = spool->lease_due("wk", now_ms(), 100);
    REQUIRE(leased.size() == 9);
    for (const auto& l : leased) CHECK(l.body == b.body);
}

TEST_CASE("the spool stamps due and dead times with its own clock", "[spool][clock]") {
    TempDir tmp;
    lsr::core::ManualClock clock(1'700'000'000'000);
    SpoolOpenOptions options;
    options.clock = &clock;
    auto spool = open_ok(config_for(tmp.file("spool.db")), options);
    const auto ids = append_ok(*spool, {batch("wk", 4), batch("wk", 1)});
    CHECK(spool->lease_due("wk", clock.unix_ms() - 1, 10).empty());  // due at the spool's now
    auto leased = spool->lease_due("wk", clock.unix_ms(), 10);
    REQUIRE(leased.size() == 2);
    CHECK(leased[0].next_attempt_ms == clock.unix_ms());

    clock.advance(std::chrono::minutes(5));
    std::int64_t first = 0;
    std::int64_t second = 0;
    REQUIRE(spool->split(ids[0], "{},\n{}", 2, "{},\n{}", 2, &first, &second) == std::error_code{});
    const auto parts = spool->lease_due("wk", clock.unix_ms(), 10);
    REQUIRE(parts.size() == 2);
    for (const auto& p : parts) CHECK(p.next_attempt_ms == clock.unix_ms());

    clock.advance(std::chrono::minutes(5));
    REQUIRE(spool->dead_letter(ids[1], 400, "bad") == std::error_code{});
    CHECK(spool->list_dead_letters(10, false).at(0).dead_ms == clock.unix_ms());
}

TEST_CASE("a batch whose settle failed is held for 30 s of the spool's clock, whatever the horizon",
          "[spool][clock]") {
    TempDir tmp;
    const std::string path = tmp.file("spool.db");
    lsr::core::ManualClock clock(1'700'000'000'000);
    SpoolOpenOptions options;
    options.clock = &clock;
    auto spool = open_ok(config_for(path), options);
    const auto ids = append_ok(*spool, {batch("wk", 2)});
    REQUIRE(spool->lease_due("wk", clock.unix_ms(), 10).size() == 1);
    exec_on(
        path,
        "CREATE TRIGGER no_delete BEFORE DELETE ON batches BEGIN SELECT RAISE(ABORT, 'disk says no'); END;");
    CHECK(spool->mark_delivered(ids[0]) == SpoolErrc::io);
    exec_on(path, "DROP TRIGGER no_delete");
    CHECK(spool->leased_count() == 1);  // held, not offered again at once
    // A caller leasing far ahead does not end the hold: only the spool's clock does.
    CHECK(spool->lease_due("wk", clock.unix_ms() + 3'600'000, 10).empty());
    clock.advance(std::chrono::milliseconds(29'999));
    CHECK(spool->lease_due("wk", clock.unix_ms(), 10).empty());
    clock.advance(std::chrono::milliseconds(1));
    const auto again = spool->lease_due("wk", clock.unix_ms(), 10);
    REQUIRE(again.size() == 1);
    CHECK(again[0].id == ids[0]);
    CHECK(spool->mark_delivered(ids[0]) == std::error_code{});
}
