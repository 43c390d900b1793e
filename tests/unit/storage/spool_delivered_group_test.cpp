// Settling several delivered batches in one transaction, and leases read in one snapshot
// (server/storage/spool.cpp).
#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "core/manual_clock.hpp"
#include "server/storage/spool.hpp"
#include "spool_test_support.hpp"

using lsr::server::SpoolErrc;
using lsr::server::SpoolOpenOptions;
using namespace lsr::server::spool_test;

TEST_CASE("mark_delivered of a group deletes every batch in one commit and says which were there",
          "[spool][settle]") {
    TempDir tmp;
    auto spool = open_ok(config_for(tmp.file("spool.db")));
    const auto b1 = batch("wk", 3, 100);
    const auto b2 = batch("wk", 2, 200);
    const auto b3 = batch("wk", 1, 300);
    const auto ids = append_ok(*spool, {b1, b2, b3});
    REQUIRE(spool->lease_due("wk", now_ms(), 10).size() == 3);
    // The second was settled meanwhile (as a purge would remove it): not found, the rest go.
    REQUIRE(spool->mark_delivered(ids[1]) == std::error_code{});
    std::vector<bool> found;
    REQUIRE(spool->mark_delivered(std::vector<std::int64_t>{ids[0], ids[1], ids[2]}, &found) ==
            std::error_code{});
    CHECK(found == std::vector<bool>{true, false, true});
    CHECK(spool->bytes_used() == 0);
    CHECK(spool->leased_count() == 0);
    CHECK(spool->stats().batches == 0);
    CHECK(spool->lease_due("wk", now_ms(), 10).empty());

    // An empty group writes nothing and fails nothing.
    CHECK(spool->mark_delivered(std::vector<std::int64_t>{}, &found) == std::error_code{});
    CHECK(found.empty());
}

TEST_CASE("a group whose commit fails writes nothing and holds every batch of it", "[spool][settle]") {
    TempDir tmp;
    const std::string path = tmp.file("spool.db");
    lsr::core::ManualClock clock(1'700'000'000'000);
    SpoolOpenOptions options;
    options.clock = &clock;
    auto spool = open_ok(config_for(path), options);
    const auto b1 = batch("wk", 2, 100);
    const auto b2 = batch("wk", 2, 200);
    const auto ids = append_ok(*spool, {b1, b2});
    REQUIRE(spool->lease_due("wk", clock.unix_ms(), 10).size() == 2);
    // The second delete fails: the first must not be committed on its own.
    exec_on(path, "CREATE TRIGGER no_delete BEFORE DELETE ON batches WHEN old.id = " +
                      std::to_string(ids[1]) + " BEGIN SELECT RAISE(ABORT, 'disk says no'); END;");
    std::vector<bool> found;
    CHECK(spool->mark_delivered(std::vector<std::int64_t>{ids[0], ids[1]}, &found) == SpoolErrc::io);
    CHECK(found == std::vector<bool>{false, false});
    exec_on(path, "DROP TRIGGER no_delete");
    CHECK(spool->stats().batches == 2);
    CHECK(spool->bytes_used() == b1.body.size() + b2.body.size());
    CHECK(spool->leased_count() == 2);  // held, as any failed settle
    CHECK(spool->lease_due("wk", clock.unix_ms(), 10).empty());
    clock.advance(std::chrono::seconds(30));
    const auto again = spool->lease_due("wk", clock.unix_ms(), 10);
    REQUIRE(again.size() == 2);
    CHECK(again[0].body == b1.body);
    CHECK(again[1].body == b2.body);
    REQUIRE(spool->mark_delivered(std::vector<std::int64_t>{ids[0], ids[1]}, &found) == std::error_code{});
    CHECK(found == std::vector<bool>{true, true});
}

TEST_CASE("a lease reads one snapshot while an operator tool writes beside it", "[spool][lease]") {
    TempDir tmp;
    const std::string path = tmp.file("spool.db");
    auto spool = open_ok(config_for(path));
    const auto ids = append_ok(*spool, {batch("wk", 1, 100), batch("wk", 1, 200)});
    // Another connection (as `spool purge` would) removes one batch between two leases; the
    // next lease sees the change, and the read transaction of the first did not block it.
    auto first = spool->lease_due("wk", now_ms(), 1);
    REQUIRE(first.size() == 1);
    CHECK(first[0].id == ids[0]);
    exec_on(path, "DELETE FROM batches WHERE id = " + std::to_string(ids[1]));
    CHECK(spool->lease_due("wk", now_ms(), 10).empty());
    CHECK(spool->mark_delivered(ids[0]) == std::error_code{});
}
