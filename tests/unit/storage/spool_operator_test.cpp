// The operator's functions: replay, purge, the salvage tool's dead letters
// (server/storage/spool_operator.cpp).
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "core/manual_clock.hpp"
#include "server/storage/spool.hpp"
#include "spool_test_support.hpp"

namespace fs = std::filesystem;
using lsr::server::DeadLetter;
using lsr::server::NewBatch;
using lsr::server::Spool;
using lsr::server::SpoolBatch;
using lsr::server::SpoolErrc;
using namespace lsr::server::spool_test;

TEST_CASE("replay moves dead letters back, due now, attempts reset, created_ms kept", "[spool]") {
    TempDir tmp;
    auto spool = open_ok(config_for(tmp.file("spool.db")));
    const auto b1 = batch("wk", 2, 11);
    const auto b2 = batch("wk", 3, 22);
    const auto b3 = batch("wk2", 4, 33);
    const auto ids = append_ok(*spool, {b1, b2, b3});
    REQUIRE(spool->reschedule(ids[0], 0, "503") == std::error_code{});
    for (auto id : ids) REQUIRE(spool->dead_letter(id, 0, "gave up after 12h") == std::error_code{});
    REQUIRE(spool->stats().batches == 0);
    CHECK(spool->bytes_used() == 0);
    auto dead = spool->list_dead_letters(100, false);
    REQUIRE(dead.size() == 3);
    CHECK(dead[0].attempts == 2);

    std::size_t replayed = 99;
    // An unknown id replays nothing.
    CHECK(spool->replay_dead_letters({dead[0].id, 987654}, &replayed) == SpoolErrc::not_found);
    CHECK(replayed == 0);
    CHECK(spool->list_dead_letters(100, false).size() == 3);

    CHECK(spool->replay_dead_letters({dead[0].id}, &replayed) == std::error_code{});
    CHECK(replayed == 1);
    auto back = spool->lease_due("wk", now_ms(), 10);
    REQUIRE(back.size() == 1);
    CHECK(back[0].body == b1.body);
    CHECK(back[0].events == 2);
    CHECK(back[0].created_ms == 11);
    CHECK(back[0].attempts == 0);
    CHECK(back[0].last_error.empty());
    CHECK(back[0].request_id.empty());
    CHECK(back[0].next_attempt_ms <= now_ms());
    CHECK(spool->bytes_used() == b1.body.size());

    CHECK(spool->replay_dead_letters({}, &replayed) == std::error_code{});
    CHECK(replayed == 2);
    CHECK(spool->list_dead_letters(100, false).empty());
    const auto st = spool->stats();
    CHECK(st.batches == 3);
    CHECK(st.events == 9);
    CHECK(st.bytes == b1.body.size() + b2.body.size() + b3.body.size());
    CHECK(spool->bytes_used() == st.bytes);
    CHECK(st.dead_letters == 0);
    CHECK(spool->replay_dead_letters({}, &replayed) == std::error_code{});
    CHECK(replayed == 0);
}

TEST_CASE("purge removes dead letters or batches, and only those", "[spool]") {
    TempDir tmp;
    auto spool = open_ok(config_for(tmp.file("spool.db")));
    const auto ids = append_ok(*spool, {batch("wk", 1), batch("wk", 2), batch("wk", 3)});
    REQUIRE(spool->dead_letter(ids[0], 413, "too large") == std::error_code{});
    REQUIRE(spool->lease_due("wk", now_ms(), 1).size() == 1);
    std::size_t purged = 0;
    CHECK(spool->purge_dead_letters(&purged) == std::error_code{});
    CHECK(purged == 1);
    CHECK(spool->stats().dead_letters == 0);
    CHECK(spool->stats().batches == 2);
    REQUIRE(spool->dead_letter(ids[1], 400, "bad") == std::error_code{});
    CHECK(spool->purge_batches(&purged) == std::error_code{});
    CHECK(purged == 1);
    const auto st = spool->stats();
    CHECK(st.batches == 0);
    CHECK(st.bytes == 0);
    CHECK(st.oldest_created_ms == 0);
    CHECK(st.dead_letters == 1);
    CHECK(spool->bytes_used() == 0);
    CHECK(spool->leased_count() == 0);
}

TEST_CASE("append_dead_letters stores dead letters as given", "[spool]") {
    TempDir tmp;
    auto spool = open_ok(config_for(tmp.file("spool.db")));
    DeadLetter d;
    d.write_key = "wk";
    d.events = 2;
    d.status = 400;
    d.reason = "bad";
    d.created_ms = 5;
    d.dead_ms = 6;
    d.attempts = 3;
    d.body = "{},\n{}";
    CHECK(spool->append_dead_letters({d, d}) == std::error_code{});
    auto listed = spool->list_dead_letters(10, true);
    REQUIRE(listed.size() == 2);
    CHECK(listed[1].body == d.body);
    CHECK(listed[1].attempts == 3);
    CHECK(listed[1].created_ms == 5);
    CHECK(listed[1].dead_ms == 6);
    CHECK(spool->stats().batches == 0);
}

TEST_CASE("replayed dead letters are due at the spool's own now", "[spool][clock]") {
    TempDir tmp;
    lsr::core::ManualClock clock(1'700'000'000'000);
    lsr::server::SpoolOpenOptions options;
    options.clock = &clock;
    auto spool = open_ok(config_for(tmp.file("spool.db")), options);
    const auto ids = append_ok(*spool, {batch("wk", 2)});
    REQUIRE(spool->dead_letter(ids[0], 0, "gave up") == std::error_code{});
    clock.advance(std::chrono::hours(2));
    std::size_t replayed = 0;
    REQUIRE(spool->replay_dead_letters({}, &replayed) == std::error_code{});
    CHECK(replayed == 1);
    CHECK(spool->lease_due("wk", clock.unix_ms() - 1, 10).empty());
    const auto back = spool->lease_due("wk", clock.unix_ms(), 10);
    REQUIRE(back.size() == 1);
    CHECK(back[0].next_attempt_ms == clock.unix_ms());
}

TEST_CASE("oldest_by_write_key: each key's oldest batch, leased or not, and only keys with batches",
          "[spool]") {
    TempDir tmp;
    auto spool = open_ok(config_for(tmp.file("spool.db")));
    using Oldest = std::vector<std::pair<std::string, std::int64_t>>;
    CHECK(spool->oldest_by_write_key() == Oldest{});
    const auto ids = append_ok(
        *spool, {batch("wk_b", 1, 500), batch("wk_a", 2, 900), batch("wk_a", 1, 300), batch("wk_b", 1, 700)});
    CHECK(spool->oldest_by_write_key() == Oldest{{"wk_a", 300}, {"wk_b", 500}});

    // A leased batch is not delivered yet: it still counts.
    REQUIRE(spool->lease_due("wk_a", now_ms(), 10).size() == 2);
    CHECK(spool->oldest_by_write_key() == Oldest{{"wk_a", 300}, {"wk_b", 500}});

    // Delivered or dead-lettered batches no longer count; a key with none left is gone.
    REQUIRE(spool->mark_delivered(ids[2]) == std::error_code{});
    CHECK(spool->oldest_by_write_key() == Oldest{{"wk_a", 900}, {"wk_b", 500}});
    REQUIRE(spool->mark_delivered(ids[1]) == std::error_code{});
    REQUIRE(spool->lease_due("wk_b", now_ms(), 10).size() == 2);
    REQUIRE(spool->dead_letter(ids[0], 400, "bad request") == std::error_code{});
    CHECK(spool->oldest_by_write_key() == Oldest{{"wk_b", 700}});
    REQUIRE(spool->mark_delivered(ids[3]) == std::error_code{});
    CHECK(spool->oldest_by_write_key() == Oldest{});
}

TEST_CASE("stats: the free bytes of the spool's filesystem", "[spool]") {
    TempDir tmp;
    auto spool = open_ok(config_for(tmp.file("spool.db")));
    const auto st = spool->stats();
    REQUIRE(st.filesystem_free_bytes);
    const auto space = fs::space(tmp.dir);
    // The same filesystem, read a moment apart: equal up to what others wrote meanwhile.
    CHECK(*st.filesystem_free_bytes > 0);
    const auto diff = *st.filesystem_free_bytes > space.available
                          ? *st.filesystem_free_bytes - space.available
                          : space.available - *st.filesystem_free_bytes;
    CHECK(diff < 256ull * 1024 * 1024);
}
