// Spool::open: directories, reopening, paths it cannot use (server/storage/spool_open.cpp).
#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "server/storage/spool.hpp"
#include "spool_test_support.hpp"

namespace fs = std::filesystem;
using lsr::server::DeadLetter;
using lsr::server::NewBatch;
using lsr::server::Spool;
using lsr::server::SpoolBatch;
using lsr::server::SpoolErrc;
using namespace lsr::server::spool_test;

TEST_CASE("open creates the parent directories and an owner-only database", "[spool]") {
    TempDir tmp;
    const std::string path = tmp.file("a/b/spool.db");
    auto spool = open_ok(config_for(path));
    CHECK(fs::exists(path));
    CHECK(mode_of(path) == 0600);
    append_ok(*spool, {batch("wk1", 3)});
    for (const char* suffix : {"-wal", "-shm"}) {
        if (fs::exists(path + suffix)) CHECK(mode_of(path + suffix) == 0600);
    }
    CHECK(spool->path() == path);
    CHECK(spool->writable());
    CHECK(mode_of(tmp.file("a")) == 0700);  // directories it creates are owner-only too
    CHECK(mode_of(tmp.file("a/b")) == 0700);
    CHECK(spool->max_bytes() == 1ull << 30);
}

TEST_CASE("reopen keeps every batch and dead letter; leases are released", "[spool]") {
    TempDir tmp;
    const auto cfg = config_for(tmp.file("spool.db"));
    const auto b1 = batch("wk", 2, 10, "r1");
    const auto b2 = batch("wk", 3, 20, "r2");
    std::vector<std::int64_t> ids;
    lsr::server::SpoolStats before;
    {
        auto spool = open_ok(cfg);
        ids = append_ok(*spool, {b1, b2, batch("wk", 1)});
        REQUIRE(spool->reschedule(ids[1], 12345, "timeout") == std::error_code{});
        REQUIRE(spool->dead_letter(ids[2], 400, "bad event") == std::error_code{});
        REQUIRE(spool->lease_due("wk", now_ms(), 10).size() == 2);
        before = spool->stats();
    }
    auto spool = open_ok(cfg);
    const auto after = spool->stats();
    CHECK(after.batches == before.batches);
    CHECK(after.events == before.events);
    CHECK(after.bytes == before.bytes);
    CHECK(after.dead_letters == 1);
    CHECK(after.oldest_created_ms == 10);
    CHECK(spool->bytes_used() == before.bytes);
    CHECK(spool->leased_count() == 0);
    auto leased = spool->lease_due("wk", now_ms(), 10);
    REQUIRE(leased.size() == 2);
    CHECK(leased[0].id == ids[0]);
    CHECK(leased[0].body == b1.body);
    CHECK(leased[1].id == ids[1]);
    CHECK(leased[1].attempts == 1);
    CHECK(leased[1].last_error == "timeout");
    CHECK(leased[1].next_attempt_ms == 12345);
    CHECK(spool->list_dead_letters(10, false).at(0).reason == "bad event");
    // Ids keep growing across restarts: a delivered id is never reused.
    auto more = append_ok(*spool, {batch("wk", 1)});
    CHECK(more[0] > ids[2]);
}

TEST_CASE("open without create does not invent a spool", "[spool]") {
    TempDir tmp;
    const std::string path = tmp.file("missing/spool.db");
    lsr::server::SpoolOpenOptions options;
    options.create = false;
    auto r = try_open(config_for(path), options);
    CHECK(r.spool == nullptr);
    CHECK(r.ec == SpoolErrc::not_found);
    CHECK(r.message.find(path) != std::string::npos);
    CHECK(!fs::exists(path));
    CHECK(!fs::exists(tmp.file("missing")));
}

TEST_CASE("open reports a path it cannot use", "[spool]") {
    TempDir tmp;
    SECTION("a directory") {
        fs::create_directories(tmp.file("dir.db"));
        auto r = try_open(config_for(tmp.file("dir.db")));
        CHECK(r.spool == nullptr);
        CHECK(r.ec == SpoolErrc::io);
        CHECK(r.message.find("dir.db") != std::string::npos);
    }
    SECTION("an empty path") {
        auto r = try_open(config_for(""));
        CHECK(r.spool == nullptr);
        CHECK(r.ec == SpoolErrc::io);
    }
    SECTION("a parent that is a file") {
        write_file(tmp.file("plain"), "x");
        auto r = try_open(config_for(tmp.file("plain/spool.db")));
        CHECK(r.spool == nullptr);
        CHECK(r.ec == SpoolErrc::io);
        CHECK(r.message.find("plain") != std::string::npos);
    }
}
