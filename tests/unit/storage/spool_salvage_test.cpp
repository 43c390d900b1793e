// Salvage: the readable batches and dead letters of an intact, damaged or truncated spool are
// copied, the rest reported (server/storage/spool_salvage.cpp).
#include "server/storage/spool_salvage.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "server/storage/spool.hpp"
#include "spool_test_support.hpp"

namespace fs = std::filesystem;
using lsr::server::NewBatch;
using lsr::server::Spool;
using lsr::server::SpoolBatch;
using lsr::server::SpoolErrc;
using lsr::server::SpoolSalvage;
using namespace lsr::server::spool_test;

namespace {

struct SalvageTempDir {
    fs::path dir;
    SalvageTempDir() {
        std::string tmpl = (fs::temp_directory_path() / "lsr-salvage-test-XXXXXX").string();
        REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
        dir = tmpl;
    }
    ~SalvageTempDir() {
        std::error_code ec;
        fs::remove_all(dir, ec);
    }
    std::string file(const std::string& name) const { return (dir / name).string(); }
};

std::unique_ptr<Spool> open_spool(const std::string& path) {
    lsr::config::SpoolConfig cfg;
    cfg.path = path;
    cfg.max_bytes = 1ull << 30;
    std::error_code ec;
    std::string message;
    auto spool = Spool::open(cfg, ec, message);
    INFO(message);
    REQUIRE(spool != nullptr);
    return spool;
}

}  // namespace

TEST_CASE("salvage copies the readable batches of a truncated spool", "[spool][salvage]") {
    SalvageTempDir tmp;
    const std::string old_path = tmp.file("old.db");
    // Enough batches that their pages outweigh the tables' root pages at the file's start
    // (a cut at 60% must leave some of them readable).
    constexpr int kBatches = 400;
    {
        auto spool = open_spool(old_path);
        for (int i = 0; i < kBatches; ++i) {
            NewBatch b;
            b.write_key = "wk";
            b.body = R"({"type":"identify","userId":"u)" + std::to_string(i) + R"(","pad":")" +
                     std::string(3000, 'p') + "\"}";
            b.events = 1;
            b.created_ms = 1000 + i;
            REQUIRE(spool->append({b}, nullptr) == std::error_code{});
        }
    }  // closed: everything checkpointed into the file
    REQUIRE(!fs::exists(old_path + "-wal"));
    const auto size = fs::file_size(old_path);
    fs::resize_file(old_path, size * 6 / 10);

    auto fresh = open_spool(tmp.file("new.db"));
    const auto report = SpoolSalvage::run(old_path, *fresh);
    INFO(report.notes << " / " << report.error);
    CHECK(report.error.empty());
    CHECK(!report.complete);
    CHECK(report.batches > 0);
    CHECK(report.batches < kBatches);
    CHECK(report.unreadable >= kBatches - report.batches);
    CHECK(fresh->stats().batches == report.batches);
    CHECK(fs::file_size(old_path) == size * 6 / 10);  // only read
}

TEST_CASE("salvage copies every batch and dead letter of an intact spool", "[spool][salvage]") {
    TempDir tmp;
    const std::string old_path = tmp.file("old.db");
    std::vector<NewBatch> originals;
    for (int i = 0; i < 10; ++i) originals.push_back(batch("wk" + std::to_string(i % 3), 5 + i, 100 + i));
    SECTION("closed cleanly") {
        {
            auto old_spool = open_ok(config_for(old_path));
            const auto ids = append_ok(*old_spool, originals);
            REQUIRE(old_spool->dead_letter(ids[9], 400, "bad event") == std::error_code{});
        }
        REQUIRE(!fs::exists(old_path + "-wal"));
    }
    SECTION("still open, rows in its WAL") {
        auto old_spool = open_ok(config_for(old_path));
        const auto ids = append_ok(*old_spool, originals);
        REQUIRE(old_spool->dead_letter(ids[9], 400, "bad event") == std::error_code{});
        REQUIRE(fs::file_size(old_path + "-wal") > 0);
        const std::string before = read_file(old_path);
        auto fresh = open_ok(config_for(tmp.file("new-live.db")));
        const auto report = SpoolSalvage::run(old_path, *fresh);
        INFO(report.error << report.notes);
        CHECK(report.batches == 9);
        CHECK(report.dead_letters == 1);
        CHECK(read_file(old_path) == before);  // the old file is only read
    }
    auto fresh = open_ok(config_for(tmp.file("new.db")));
    const auto report = SpoolSalvage::run(old_path, *fresh);
    INFO(report.error << report.notes);
    CHECK(report.error.empty());
    CHECK(report.complete);
    CHECK(report.batches == 9);
    CHECK(report.unreadable == 0);
    CHECK(report.dead_letters == 1);
    std::size_t events = 0;
    for (int i = 0; i < 9; ++i) events += originals[static_cast<std::size_t>(i)].events;
    CHECK(report.events == events);
    const auto st = fresh->stats();
    CHECK(st.batches == 9);
    CHECK(st.events == events);
    CHECK(st.dead_letters == 1);
    std::vector<SpoolBatch> all;
    for (const char* key : {"wk0", "wk1", "wk2"}) {
        for (auto& b : fresh->lease_due(key, now_ms(), 100)) all.push_back(std::move(b));
    }
    REQUIRE(all.size() == 9);
    std::sort(all.begin(), all.end(),
              [](const auto& a, const auto& b) { return a.created_ms < b.created_ms; });
    for (std::size_t i = 0; i < all.size(); ++i) {
        CHECK(all[i].body == originals[i].body);
        CHECK(all[i].write_key == originals[i].write_key);
        CHECK(all[i].created_ms == originals[i].created_ms);
    }
    const auto dead = fresh->list_dead_letters(10, true);
    REQUIRE(dead.size() == 1);
    CHECK(dead[0].body == originals[9].body);
    CHECK(dead[0].reason == "bad event");
    CHECK(dead[0].status == 400);
}

TEST_CASE("salvage copies what is readable from a damaged spool and says what it skipped",
          "[spool][salvage]") {
    TempDir tmp;
    const std::string old_path = tmp.file("old.db");
    {
        auto old_spool = open_ok(config_for(old_path));
        std::vector<NewBatch> many;
        for (int i = 0; i < 40; ++i) many.push_back(batch("wk", 2000, i));
        append_ok(*old_spool, many);
    }
    std::string bytes = read_file(old_path);
    const std::size_t pages = bytes.size() / 65536;
    REQUIRE(pages > 40);
    // Scribble over the header of a table leaf page in the middle (page type 0x0D): the
    // batches on it can no longer be read, the others can.
    std::size_t page = pages / 2;
    while (page < pages && bytes[page * 65536] != 0x0D) ++page;
    REQUIRE(page < pages);
    for (std::size_t i = page * 65536; i < page * 65536 + 8; ++i) bytes[i] = static_cast<char>(0xA5);
    write_file(old_path, bytes);
    REQUIRE(try_open(config_for(old_path)).ec == SpoolErrc::corrupt);

    auto fresh = open_ok(config_for(tmp.file("new.db")));
    const auto report = SpoolSalvage::run(old_path, *fresh);
    INFO(report.error << " / " << report.notes);
    CHECK(report.error.empty());
    CHECK(report.batches >= 30);
    CHECK(report.batches < 40);
    CHECK(!report.complete);
    CHECK(report.unreadable >= 1);
    CHECK(!report.notes.empty());
    CHECK(fresh->stats().batches == report.batches);
}

TEST_CASE("salvage refuses garbage, a missing file and its own destination", "[spool][salvage]") {
    TempDir tmp;
    auto fresh = open_ok(config_for(tmp.file("new.db")));
    write_file(tmp.file("garbage.db"), std::string(10000, 'z'));
    auto report = SpoolSalvage::run(tmp.file("garbage.db"), *fresh);
    CHECK(report.batches == 0);
    CHECK(!report.complete);
    CHECK(!report.notes.empty());
    report = SpoolSalvage::run(tmp.file("missing.db"), *fresh);
    CHECK(!report.error.empty());
    report = SpoolSalvage::run(tmp.file("new.db"), *fresh);
    CHECK(report.error.find("same file") != std::string::npos);
}

TEST_CASE("salvage stops when the destination is full, keeping what it copied", "[spool][salvage]") {
    TempDir tmp;
    const std::string old_path = tmp.file("old.db");
    const auto b = batch("wk", 300);
    {
        auto old_spool = open_ok(config_for(old_path));
        std::vector<NewBatch> many(80, b);
        append_ok(*old_spool, many);
    }
    auto fresh = open_ok(config_for(tmp.file("new.db"), 1024 * 1024));
    const auto report = SpoolSalvage::run(old_path, *fresh);
    CHECK(report.error.find("full") != std::string::npos);
    CHECK(!report.complete);
    CHECK(report.batches > 0);
    CHECK(report.batches < 80);
    CHECK(report.batches % 16 == 0);                  // whole groups only
    CHECK(fresh->stats().batches == report.batches);  // what it reports is what it copied
}

TEST_CASE("salvage leaves out a batch whose body is damaged and counts it", "[spool][salvage]") {
    // As a row read from a truncated file: its header is fine, its body ends in zeros.
    TempDir tmp;
    const std::string old_path = tmp.file("old.db");
    std::vector<NewBatch> originals;
    for (int i = 0; i < 3; ++i) originals.push_back(batch("wk", 4, 100 + i));
    std::vector<std::int64_t> ids;
    {
        auto old_spool = open_ok(config_for(old_path));
        ids = append_ok(*old_spool, originals);
    }
    exec_on(old_path,
            "UPDATE batches SET body = CAST(substr(body, 1, length(body) - 8) || zeroblob(8) AS BLOB) "
            "WHERE id = " +
                std::to_string(ids[1]));
    auto fresh = open_ok(config_for(tmp.file("new.db")));
    const auto report = SpoolSalvage::run(old_path, *fresh);
    INFO(report.error << report.notes);
    CHECK(report.error.empty());
    CHECK_FALSE(report.complete);
    CHECK(report.batches == 2);
    CHECK(report.unreadable == 1);
    CHECK(report.notes.find("1 left out, their body damaged") != std::string::npos);
    auto leased = fresh->lease_due("wk", now_ms(), 10);
    REQUIRE(leased.size() == 2);
    CHECK(leased[0].body == originals[0].body);
    CHECK(leased[1].body == originals[2].body);
}
