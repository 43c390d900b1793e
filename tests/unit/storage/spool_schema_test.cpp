// The spool's schema and settings: version, integrity check, temporary files, synchronous
// level (server/storage/spool_schema.cpp).
#include "server/storage/spool_schema.hpp"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "core/delivery/body_compressor.hpp"
#include "core/delivery/stored_body.hpp"
#include "spool_test_support.hpp"

namespace fs = std::filesystem;
using lsr::server::DeadLetter;
using lsr::server::NewBatch;
using lsr::server::Spool;
using lsr::server::SpoolBatch;
using lsr::server::SpoolErrc;
using namespace lsr::server::spool_test;

TEST_CASE("a spool with overwritten pages is refused as corrupt", "[spool]") {
    TempDir tmp;
    const std::string path = tmp.file("spool.db");
    {
        auto spool = open_ok(config_for(path));
        std::vector<NewBatch> many;
        for (int i = 0; i < 20; ++i) many.push_back(batch("wk", 2000, i));
        append_ok(*spool, many);
    }
    std::string bytes = read_file(path);
    REQUIRE(bytes.size() > 3 * 65536);
    // Scribble over the second page (the batches table's root) and beyond.
    for (std::size_t i = 65536; i < 65536 + 4096; ++i) bytes[i] = static_cast<char>(0xA5);
    write_file(path, bytes);
    auto r = try_open(config_for(path));
    INFO(r.message);
    CHECK(r.spool == nullptr);
    CHECK(r.ec == SpoolErrc::corrupt);
    CHECK(r.message.find(path) != std::string::npos);
}

TEST_CASE("an unknown schema version or a foreign database is refused", "[spool]") {
    TempDir tmp;
    const std::string path = tmp.file("spool.db");
    SECTION("newer schema version") {
        { open_ok(config_for(path)); }
        REQUIRE(std::system(("sqlite3 '" + path + "' 'PRAGMA user_version=7' >/dev/null").c_str()) == 0);
        auto r = try_open(config_for(path));
        CHECK(r.spool == nullptr);
        CHECK(r.ec == SpoolErrc::corrupt);
        CHECK(r.message.find("schema version 7") != std::string::npos);
    }
    SECTION("another application's database") {
        REQUIRE(std::system(("sqlite3 '" + path + "' 'CREATE TABLE t(x)' >/dev/null").c_str()) == 0);
        auto r = try_open(config_for(path));
        CHECK(r.spool == nullptr);
        CHECK(r.ec == SpoolErrc::corrupt);
        CHECK(r.message.find("not a relay spool") != std::string::npos);
    }
}

TEST_CASE("SQLite's temporary files go to spool.temp_dir, or stay in memory", "[spool]") {
    TempDir tmp;
    {
        auto spool = open_ok(config_for(tmp.file("memory.db")));  // no temp_dir: in memory
        append_ok(*spool, {batch("wk", 3), batch("wk", 3)});
        CHECK(spool->lease_due("wk", now_ms(), 10).size() == 2);
    }
    // A directory that outlives the test: the setting is process-wide in SQLite.
    const auto dir = (fs::temp_directory_path() / "lsr-spool-test-sqlite-tmp").string();
    auto cfg = config_for(tmp.file("dir.db"));
    cfg.temp_dir = dir;
    auto spool = open_ok(cfg);
    CHECK(fs::is_directory(dir));
    append_ok(*spool, {batch("wk", 3), batch("wk", 3)});
    CHECK(spool->lease_due("wk", now_ms(), 10).size() == 2);
}

TEST_CASE("synchronous NORMAL opens and keeps data too", "[spool]") {
    TempDir tmp;
    auto cfg = config_for(tmp.file("spool.db"));
    cfg.synchronous_full = false;
    {
        auto spool = open_ok(cfg);
        append_ok(*spool, {batch("wk", 2)});
    }
    CHECK(open_ok(cfg)->stats().batches == 1);
}

TEST_CASE("a version-1 spool is raised to the current version and its plain bodies are still delivered",
          "[spool]") {
    TempDir tmp;
    const std::string path = tmp.file("spool.db");
    const NewBatch old = batch("wk", 5);
    {
        auto spool = open_ok(config_for(path));
        append_ok(*spool, {old});
    }
    exec_on(path, "PRAGMA user_version=1");  // as a relay of the previous version left it
    {
        auto spool = open_ok(config_for(path));
        auto leased = spool->lease_due("wk", now_ms(), 10);
        REQUIRE(leased.size() == 1);
        CHECK(leased[0].body == old.body);  // plain: sent as it is
        std::string events;
        std::string error;
        REQUIRE(lsr::core::StoredBody::decode(leased[0].body, events, error));
        CHECK(events == old.body);
        CHECK_FALSE(spool->mark_delivered(leased[0].id));
        CHECK(spool->stats().batches == 0);
    }
    REQUIRE(std::system(("test \"$(sqlite3 '" + path + "' 'PRAGMA user_version')\" = 3").c_str()) == 0);
}

TEST_CASE("a compressed body is kept as stored; dead letters list it plain", "[spool]") {
    TempDir tmp;
    auto spool = open_ok(config_for(tmp.file("spool.db")));
    NewBatch b = batch("wk", 300);
    const std::string events = b.body;
    {
        std::string work = b.body;
        lsr::core::BodyCompressor compressor(1);
        REQUIRE(compressor.store(work, b.body));
    }
    append_ok(*spool, {b});
    CHECK(spool->stats().bytes == b.body.size());  // the stored (compressed) size
    auto leased = spool->lease_due("wk", now_ms(), 10);
    REQUIRE(leased.size() == 1);
    CHECK(leased[0].body == b.body);
    REQUIRE_FALSE(spool->dead_letter(leased[0].id, 400, "bad"));
    auto dead = spool->list_dead_letters(10, true);
    REQUIRE(dead.size() == 1);
    CHECK(dead[0].body == events);
    CHECK(dead[0].body_error.empty());
    std::size_t replayed = 0;
    REQUIRE_FALSE(spool->replay_dead_letters({}, &replayed));
    CHECK(replayed == 1);
    auto again = spool->lease_due("wk", now_ms(), 10);
    REQUIRE(again.size() == 1);
    CHECK(again[0].body == b.body);  // replay moves the stored form as it is
}
