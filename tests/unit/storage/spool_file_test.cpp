// The spool file before SQLite opens it: permissions, garbage, truncation, empty files
// (server/storage/spool_file.cpp).
#include "server/storage/spool_file.hpp"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "core/manual_clock.hpp"
#include "spool_test_support.hpp"

namespace fs = std::filesystem;
using lsr::server::DeadLetter;
using lsr::server::NewBatch;
using lsr::server::Spool;
using lsr::server::SpoolBatch;
using lsr::server::SpoolErrc;
using namespace lsr::server::spool_test;

TEST_CASE("open tightens the permissions of an existing spool", "[spool]") {
    TempDir tmp;
    const std::string path = tmp.file("spool.db");
    { open_ok(config_for(path)); }
    REQUIRE(::chmod(path.c_str(), 0644) == 0);
    auto spool = open_ok(config_for(path));
    CHECK(mode_of(path) == 0600);
}

TEST_CASE("a file that is not a database is refused as corrupt, untouched, with the way out", "[spool]") {
    TempDir tmp;
    const std::string path = tmp.file("spool.db");
    const std::string garbage(5000, 'x');
    write_file(path, garbage);
    auto r = try_open(config_for(path));
    CHECK(r.spool == nullptr);
    CHECK(r.ec == SpoolErrc::corrupt);
    CHECK(r.message.find(path) != std::string::npos);
    CHECK(r.message.find("mv " + path + " " + path + ".corrupt-") != std::string::npos);
    CHECK(r.message.find("empty spool") != std::string::npos);
    CHECK(r.message.find("spool salvage --from") != std::string::npos);
    CHECK(read_file(path) == garbage);
    CHECK(!fs::exists(path + "-wal"));
    CHECK(!fs::exists(path + "-shm"));
    // Asking again gives the same answer: nothing loops, nothing changes.
    CHECK(try_open(config_for(path)).ec == SpoolErrc::corrupt);
}

TEST_CASE("a truncated spool is refused as corrupt", "[spool]") {
    TempDir tmp;
    const std::string path = tmp.file("spool.db");
    {
        auto spool = open_ok(config_for(path));
        std::vector<NewBatch> many;
        for (int i = 0; i < 40; ++i) many.push_back(batch("wk", 2000, i));
        append_ok(*spool, many);
    }
    REQUIRE(!fs::exists(path + "-wal"));  // checkpointed at close
    const auto size = fs::file_size(path);
    REQUIRE(size > 1'000'000);
    SECTION("to half its size") {
        fs::resize_file(path, size / 2);
    }
    SECTION("to a few bytes") {
        fs::resize_file(path, 60);
    }
    SECTION("to its last page missing") {
        fs::resize_file(path, size - 65536);
    }
    auto r = try_open(config_for(path));
    INFO(r.message);
    CHECK(r.spool == nullptr);
    CHECK(r.ec == SpoolErrc::corrupt);
    CHECK(r.message.find(path) != std::string::npos);
    CHECK(r.message.find("mv ") != std::string::npos);
}

TEST_CASE("an empty file becomes a new spool", "[spool]") {
    TempDir tmp;
    const std::string path = tmp.file("spool.db");
    write_file(path, "");
    auto spool = open_ok(config_for(path));
    append_ok(*spool, {batch("wk", 1)});
    CHECK(spool->stats().batches == 1);
}

TEST_CASE("the aside name a corrupt-file text suggests is stamped by the spool's clock", "[spool][clock]") {
    TempDir tmp;
    const std::string path = tmp.file("spool.db");
    write_file(path, std::string(5000, 'x'));
    lsr::core::ManualClock clock(1'700'000'000'000);  // 2023-11-14T22:13:20Z
    lsr::server::SpoolOpenOptions options;
    options.clock = &clock;
    auto r = try_open(config_for(path), options);
    CHECK(r.ec == SpoolErrc::corrupt);
    CHECK(r.message.find("mv " + path + " " + path + ".corrupt-20231114T221320Z") != std::string::npos);
    CHECK(lsr::server::SpoolFile::corrupt_message(path, "x", 0).find(".corrupt-19700101T000000Z") !=
          std::string::npos);
}
