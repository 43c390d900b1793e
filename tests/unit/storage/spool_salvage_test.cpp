// Salvage of a truncated spool: the pages still present are copied, the rest reported.
#include "server/storage/spool_salvage.hpp"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "server/storage/spool.hpp"

namespace fs = std::filesystem;
using lsr::server::NewBatch;
using lsr::server::Spool;
using lsr::server::SpoolSalvage;

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
    {
        auto spool = open_spool(old_path);
        for (int i = 0; i < 100; ++i) {
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
    CHECK(report.batches < 100);
    CHECK(report.unreadable >= 100 - report.batches);
    CHECK(fresh->stats().batches == report.batches);
    CHECK(fs::file_size(old_path) == size * 6 / 10);  // only read
}
