// What the spool's unit tests share: a temporary directory per test, configurations, batches
// and file helpers.
#pragma once

#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "core/clock.hpp"
#include "server/storage/spool.hpp"

namespace lsr::server::spool_test {

inline std::int64_t now_ms() {
    return core::Clock::system().unix_ms();
}

// A fresh directory per test, removed at the end.
struct TempDir {
    std::filesystem::path dir;
    TempDir() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "lsr-spool-test-XXXXXX").string();
        REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
        dir = tmpl;
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    std::string file(const std::string& name) const { return (dir / name).string(); }
};

inline config::SpoolConfig config_for(const std::string& path, std::uint64_t max_bytes = 1ull << 30) {
    config::SpoolConfig cfg;
    cfg.path = path;
    cfg.max_bytes = max_bytes;
    return cfg;
}

inline std::unique_ptr<Spool> open_ok(const config::SpoolConfig& cfg, const SpoolOpenOptions& options = {}) {
    std::error_code ec;
    std::string message;
    auto spool = Spool::open(cfg, options, ec, message);
    INFO(message);
    REQUIRE(spool != nullptr);
    REQUIRE(!ec);
    return spool;
}

inline NewBatch batch(const std::string& key, std::size_t events, std::int64_t created_ms = 1000,
                      const std::string& request_id = "req-1") {
    NewBatch b;
    b.write_key = key;
    for (std::size_t i = 0; i < events; ++i) {
        if (i != 0) b.body += ",\n";
        b.body += R"({"type":"identify","userId":")" + key + "-" + std::to_string(i) + R"("})";
    }
    b.events = static_cast<std::uint32_t>(events);
    b.request_id = request_id;
    b.created_ms = created_ms;
    return b;
}

inline std::vector<std::int64_t> append_ok(Spool& spool, const std::vector<NewBatch>& batches) {
    std::vector<std::int64_t> ids;
    REQUIRE(spool.append(batches, &ids) == std::error_code{});
    REQUIRE(ids.size() == batches.size());
    return ids;
}

inline unsigned mode_of(const std::string& path) {
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    return st.st_mode & 0777;
}

inline std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::string bytes(static_cast<std::size_t>(std::filesystem::file_size(path)), '\0');
    in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    return bytes;
}

inline void write_file(const std::string& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << bytes;
}

struct OpenResult {
    std::unique_ptr<Spool> spool;
    std::error_code ec;
    std::string message;
};

inline OpenResult try_open(const config::SpoolConfig& cfg, SpoolOpenOptions options = {}) {
    OpenResult r;
    r.spool = Spool::open(cfg, options, r.ec, r.message);
    return r;
}

constexpr std::uint64_t kSmallSpool = 1024 * 1024;

// Appends `b` until the spool refuses; returns how many fit (at most `cap`).
inline std::size_t fill(Spool& spool, const NewBatch& b, std::size_t cap = 64) {
    std::size_t n = 0;
    while (n < cap && spool.append({b}, nullptr) == std::error_code{}) ++n;
    return n;
}

inline std::uint64_t files_on_disk(const std::string& path) {
    std::uint64_t total = 0;
    for (const char* suffix : {"", "-wal"}) {
        std::error_code ec;
        const auto size = std::filesystem::file_size(path + suffix, ec);
        if (!ec) total += size;
    }
    return total;
}

// Runs `sql` on the spool's file through a connection of its own, as another process would
// (the spool's prepared statements see the change on their next step).
inline void exec_on(const std::string& path, const std::string& sql) {
    sqlite3* db = nullptr;
    const int opened = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr);
    int rc = opened;
    std::string error;
    if (opened == SQLITE_OK) {
        sqlite3_busy_timeout(db, 5000);
        char* message = nullptr;
        rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &message);
        if (message != nullptr) error = message;
        sqlite3_free(message);
    }
    sqlite3_close(db);
    INFO(sql << ": " << error);
    REQUIRE(rc == SQLITE_OK);
}

}  // namespace lsr::server::spool_test
