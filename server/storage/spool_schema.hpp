// The spool's database layout and settings, applied at open: the page size of a new file,
// WAL mode, the synchronous level and checkpoint sizes, where SQLite's temporary files go,
// the tables (created in a new file; in an existing one the schema version is checked and
// the pages are verified by quick_check), and the statements prepared against them.
// Each step answers with the operator's text when it fails.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "config/config.hpp"
#include "server/storage/spool_open_failure.hpp"

struct sqlite3;

namespace lsr::server {

struct SpoolStatements;

class SpoolSchema {
  public:
    // `now_ms` stamps the aside name the corrupt-file texts suggest.
    SpoolSchema(sqlite3* db, std::string path, std::int64_t now_ms);

    // The page size a new spool of `max_bytes` gets: 64 KiB pages from 256 MiB on (a large
    // batch body spans a handful of overflow pages instead of a hundred), SQLite's 4 KiB
    // below (the fixed part would otherwise take most of a small max_bytes).
    static int page_size_for(std::uint64_t max_bytes);

    // Page size (new files only), WAL mode, temporary files, synchronous level and the WAL's
    // checkpoint and size limits (SpoolSpace::wal_reserve).
    std::optional<SpoolOpenFailure> configure(const config::SpoolConfig& cfg, bool is_new);
    std::uint64_t page_size() const { return page_size_; }
    std::uint64_t wal_reserve() const { return wal_reserve_; }

    // An empty database gets the tables and Spool::kSchemaVersion; an existing one must have
    // that version and pass quick_check. Anything else is refused as corrupt.
    std::optional<SpoolOpenFailure> create_or_check();

    // Exclusive opens only (no other relay runs on the file): what a process that ended
    // during a sync run left behind is dropped - its held batches and staged rows - and its
    // runs still "running" are marked "process_ended" (finished now), in one transaction.
    // Looker's re-send of the execute then computes the run again from the baseline.
    std::optional<SpoolOpenFailure> drop_unfinished_runs();

    // Prepares every statement; tables that do not match them are refused as corrupt.
    std::optional<SpoolOpenFailure> prepare(SpoolStatements& statements);

    // The operator's text for a failed SQLite call during open: names the file, and gives the
    // way out when the result code says corrupt.
    SpoolOpenFailure sqlite_failed(int rc, const std::string& what) const;

  private:
    SpoolOpenFailure corrupt(const std::string& detail) const;
    std::optional<SpoolOpenFailure> raise_from(int version);
    std::optional<SpoolOpenFailure> use_temp_dir(const std::string& dir);

    sqlite3* db_;
    std::string path_;
    std::int64_t now_ms_;
    std::uint64_t page_size_ = 65536;
    std::uint64_t wal_reserve_ = 0;
};

}  // namespace lsr::server
