#include "server/storage/spool_schema.hpp"

#include <sqlite3.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <mutex>
#include <utility>

#include "server/storage/spool.hpp"
#include "server/storage/spool_file.hpp"
#include "server/storage/spool_space.hpp"
#include "server/storage/spool_statements.hpp"
#include "server/storage/sqlite_statement.hpp"

namespace lsr::server {

namespace {

constexpr int kPageSize = 65536;
constexpr int kSmallSpoolPageSize = 4096;
constexpr std::uint64_t kLargePagesFrom = 256ull * 1024 * 1024;
// SQLite's page cache for the spool's one connection (KiB): room for the batches just
// appended and those in flight, so a lease and the delete after delivery find their pages
// in memory instead of reading them back from the WAL or the database file.
constexpr int kCacheKiB = 8192;

constexpr const char* kTables = R"sql(
CREATE TABLE batches (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    write_key TEXT NOT NULL,
    events INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    request_id TEXT NOT NULL DEFAULT '',
    created_ms INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms INTEGER NOT NULL,
    last_error TEXT NOT NULL DEFAULT '',
    body BLOB NOT NULL
);
CREATE INDEX batches_due ON batches (write_key, next_attempt_ms, created_ms);
CREATE INDEX batches_age ON batches (write_key, created_ms, events, bytes);
CREATE TABLE dead_letters (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    write_key TEXT NOT NULL,
    events INTEGER NOT NULL,
    status INTEGER NOT NULL,
    reason TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    dead_ms INTEGER NOT NULL,
    attempts INTEGER NOT NULL,
    request_id TEXT NOT NULL DEFAULT '',
    body BLOB NOT NULL
);
)sql";
// Version 3: cohort sync and the run history (see sync_store.hpp). Written with IF NOT EXISTS:
// a version-2 relay still running on a raised file writes its own number back when it checks
// that the file is writable again after a failed write (Spool::writable), and the next open
// then raises the file once more over what it already has.
// - batches_request, dead_letters_request: a run's queued and dead-lettered events are
//   summed from the index alone (request_id, events), never from the rows and their bodies.
// - sync_rows: a baseline's members; the u64 hashes are stored as the int64 of the same bits.
//   Their identity text is in sync_identities (same key), written only when a member enters
//   or leaves: a run that changes 1% of a large baseline's rows changes content hashes spread
//   over every page of sync_rows, and those pages are then as few as they can be (~24 bytes a
//   member instead of ~50).
// - sync_stage: what a run will change, until commit_run or abort_run. Its key clusters a
//   run's rows by `bucket` (the top bits of id_hash, see sync_store.cpp) in the order they
//   were staged (`seq`): staging appends at a few points of the tree, and the commit reads
//   one bucket at a time and applies it to one narrow key range of sync_rows, so neither
//   step writes pages at random over a large tree.
// - runs: one row per execute; rejected_by_reason is a JSON object.
constexpr const char* kTablesV3 = R"sql(
CREATE INDEX IF NOT EXISTS batches_request ON batches (request_id, events);
CREATE TABLE IF NOT EXISTS sync_baselines (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    instance TEXT NOT NULL,
    plan_id TEXT NOT NULL,
    action TEXT NOT NULL,
    write_key TEXT NOT NULL,
    title TEXT NOT NULL DEFAULT '',
    mode TEXT NOT NULL DEFAULT '',
    generation INTEGER NOT NULL DEFAULT 0,
    members INTEGER NOT NULL DEFAULT 0,
    bytes INTEGER NOT NULL DEFAULT 0,
    created_ms INTEGER NOT NULL,
    last_run_ms INTEGER NOT NULL,
    UNIQUE (instance, plan_id, action, write_key)
);
CREATE TABLE IF NOT EXISTS sync_rows (
    baseline_id INTEGER NOT NULL,
    id_hash INTEGER NOT NULL,
    content_hash INTEGER NOT NULL,
    PRIMARY KEY (baseline_id, id_hash)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sync_identities (
    baseline_id INTEGER NOT NULL,
    id_hash INTEGER NOT NULL,
    identity TEXT NOT NULL,
    PRIMARY KEY (baseline_id, id_hash)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sync_stage (
    run_id INTEGER NOT NULL,
    bucket INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    id_hash INTEGER NOT NULL,
    content_hash INTEGER NOT NULL,
    identity TEXT NOT NULL,
    change INTEGER NOT NULL,
    PRIMARY KEY (run_id, bucket, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id TEXT NOT NULL DEFAULT '',
    received_ms INTEGER NOT NULL,
    finished_ms INTEGER NOT NULL DEFAULT 0,
    instance TEXT NOT NULL DEFAULT '',
    plan_id TEXT NOT NULL DEFAULT '',
    title TEXT NOT NULL DEFAULT '',
    action TEXT NOT NULL DEFAULT '',
    webhook_id TEXT NOT NULL DEFAULT '',
    sync_mode TEXT NOT NULL DEFAULT '',
    outcome TEXT NOT NULL,
    "rows" INTEGER NOT NULL DEFAULT 0,
    accepted INTEGER NOT NULL DEFAULT 0,
    rejected INTEGER NOT NULL DEFAULT 0,
    rejected_by_reason TEXT NOT NULL DEFAULT '{}',
    added INTEGER NOT NULL DEFAULT 0,
    changed INTEGER NOT NULL DEFAULT 0,
    unchanged INTEGER NOT NULL DEFAULT 0,
    removed INTEGER NOT NULL DEFAULT 0,
    events INTEGER NOT NULL DEFAULT 0,
    success INTEGER NOT NULL DEFAULT 0,
    answer TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS runs_received ON runs (received_ms);
)sql";
// A version-1 or -2 spool's dead letters get the request id (after the body there: ALTER
// TABLE adds columns last; every statement names its columns), then its index.
constexpr const char* kDeadLetterRequestId =
    "ALTER TABLE dead_letters ADD COLUMN request_id TEXT NOT NULL DEFAULT ''";
constexpr const char* kDeadLetterRequestIndex =
    "CREATE INDEX IF NOT EXISTS dead_letters_request ON dead_letters (request_id, events);";
// The body is the last column on purpose: a row's small columns are then read without
// walking the body's overflow pages. A compressed body (~60 KB) fits in its row's leaf page,
// so a query that reads a row reads its body too: the two indexes cover every query that
// needs only the small columns (choosing due batches, the schedule, stats, the oldest batch
// per key), which then read a few index pages instead of every queued body.
constexpr const char* kIndexesFromV1 = R"sql(
DROP INDEX IF EXISTS batches_due;
CREATE INDEX batches_due ON batches (write_key, next_attempt_ms, created_ms);
CREATE INDEX IF NOT EXISTS batches_age ON batches (write_key, created_ms, events, bytes);
)sql";

bool is_corruption(int rc) {
    const int primary = rc & 0xff;
    return primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB;
}

int exec_sql(sqlite3* db, const char* sql) {
    return sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
}

// Runs a PRAGMA (or any query) and returns the first column of its first row.
int query_text(sqlite3* db, const char* sql, std::string* out) {
    SqliteStatement s;
    int rc = s.prepare(db, sql);
    if (rc != SQLITE_OK) return rc;
    rc = s.step();
    if (rc == SQLITE_ROW) {
        *out = s.column_string(0);
        return SQLITE_OK;
    }
    out->clear();
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

int query_int(sqlite3* db, const char* sql, std::int64_t* out) {
    SqliteStatement s;
    int rc = s.prepare(db, sql);
    if (rc != SQLITE_OK) return rc;
    rc = s.step();
    if (rc == SQLITE_ROW) {
        *out = s.column_int64(0);
        return SQLITE_OK;
    }
    *out = 0;
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

std::string sqlite_detail(sqlite3* db, int rc) {
    std::string text = sqlite3_errstr(rc);
    if (db != nullptr) {
        const char* msg = sqlite3_errmsg(db);
        if (msg != nullptr && text != msg) text += " (" + std::string(msg) + ")";
    }
    return text;
}

}  // namespace

SpoolSchema::SpoolSchema(sqlite3* db, std::string path, std::int64_t now_ms)
    : db_(db), path_(std::move(path)), now_ms_(now_ms) {}

int SpoolSchema::page_size_for(std::uint64_t max_bytes) {
    return max_bytes >= kLargePagesFrom ? kPageSize : kSmallSpoolPageSize;
}

SpoolOpenFailure SpoolSchema::corrupt(const std::string& detail) const {
    return {SpoolErrc::corrupt, SpoolFile::corrupt_message(path_, detail, now_ms_)};
}

SpoolOpenFailure SpoolSchema::sqlite_failed(int rc, const std::string& what) const {
    if (is_corruption(rc)) return corrupt(what + ": " + sqlite_detail(db_, rc));
    return {SpoolErrc::io, "spool " + path_ + ": " + what + ": " + sqlite_detail(db_, rc)};
}

std::optional<SpoolOpenFailure> SpoolSchema::configure(const config::SpoolConfig& cfg, bool is_new) {
    if (is_new) {
        const std::string pragma = "PRAGMA page_size=" + std::to_string(page_size_for(cfg.max_bytes));
        if (const int rc = exec_sql(db_, pragma.c_str()); rc != SQLITE_OK)
            return sqlite_failed(rc, "page size");
    }
    std::string mode;
    if (const int rc = query_text(db_, "PRAGMA journal_mode=WAL", &mode); rc != SQLITE_OK) {
        return sqlite_failed(rc, "cannot read the database");
    }
    if (mode != "wal") {
        return SpoolOpenFailure{SpoolErrc::io,
                                "spool " + path_ + ": cannot switch to WAL mode (journal mode is '" + mode +
                                    "'); is the file on a filesystem without shared memory support?"};
    }
    std::int64_t page_size = 0;
    if (const int rc = query_int(db_, "PRAGMA page_size", &page_size); rc != SQLITE_OK)
        return sqlite_failed(rc, "cannot read the page size");
    if (page_size > 0) page_size_ = static_cast<std::uint64_t>(page_size);
    if (auto failure = use_temp_dir(cfg.temp_dir)) return failure;

    // The max_bytes bound always counts wal_reserve bytes of WAL (SpoolSpace). The WAL is
    // checkpointed every half of it and kept at that size (reused, not regrown); one that
    // grows past the reserve all the same (a large transaction) is cut back (trim_wal).
    wal_reserve_ = SpoolSpace::wal_reserve(cfg.max_bytes, page_size_);
    const std::string pragmas =
        std::string("PRAGMA synchronous=") + (cfg.synchronous_full ? "FULL" : "NORMAL") +
        "; PRAGMA foreign_keys=OFF; PRAGMA wal_autocheckpoint=" +
        std::to_string(std::max<std::uint64_t>(1, wal_reserve_ / 2 / page_size_)) +
        "; PRAGMA journal_size_limit=" + std::to_string(wal_reserve_ / 2) +
        "; PRAGMA secure_delete=FAST; PRAGMA cache_size=-" + std::to_string(kCacheKiB) + ";";
    if (const int rc = exec_sql(db_, pragmas.c_str()); rc != SQLITE_OK) return sqlite_failed(rc, "settings");
    return std::nullopt;
}

// SQLite's temporary files (sorts, statement journals): in memory by default, so the spool
// works on a read-only root filesystem without /tmp; in `dir` when spool.temp_dir is set. The
// directory is process-wide in SQLite (sqlite3_temp_directory): a relay has one spool.
std::optional<SpoolOpenFailure> SpoolSchema::use_temp_dir(const std::string& dir) {
    if (dir.empty()) {
        if (exec_sql(db_, "PRAGMA temp_store=MEMORY") != SQLITE_OK)
            return SpoolOpenFailure{SpoolErrc::io, "cannot keep SQLite's temporary files in memory"};
        return std::nullopt;
    }
    std::error_code fec;
    const mode_t old_mask = ::umask(077);
    std::filesystem::create_directories(dir, fec);
    ::umask(old_mask);
    if (fec)
        return SpoolOpenFailure{SpoolErrc::io, "cannot create spool.temp_dir " + dir + ": " + fec.message()};
    static std::mutex mu;
    std::lock_guard lock(mu);
    if (sqlite3_temp_directory == nullptr || dir != sqlite3_temp_directory) {
        char* copy = sqlite3_mprintf("%s", dir.c_str());
        if (copy == nullptr) return SpoolOpenFailure{SpoolErrc::io, "out of memory"};
        sqlite3_free(sqlite3_temp_directory);
        sqlite3_temp_directory = copy;
    }
    if (exec_sql(db_, "PRAGMA temp_store=FILE") != SQLITE_OK)
        return SpoolOpenFailure{SpoolErrc::io, "cannot set SQLite's temporary file store"};
    return std::nullopt;
}

std::optional<SpoolOpenFailure> SpoolSchema::create_or_check() {
    constexpr int kVersion = Spool::kSchemaVersion;
    std::int64_t version = 0;
    if (const int rc = query_int(db_, "PRAGMA user_version", &version); rc != SQLITE_OK) {
        return sqlite_failed(rc, "cannot read the schema version");
    }
    if (version == 0) {
        std::int64_t objects = 0;
        if (const int rc = query_int(db_, "SELECT count(*) FROM sqlite_schema", &objects); rc != SQLITE_OK) {
            return sqlite_failed(rc, "cannot read the schema");
        }
        if (objects != 0) {
            return corrupt(
                "it is an SQLite database but not a relay spool (it has tables and no spool schema version)");
        }
        const std::string create = std::string("BEGIN IMMEDIATE;") + kTables + kTablesV3 +
                                   kDeadLetterRequestIndex +
                                   "PRAGMA user_version=" + std::to_string(kVersion) + "; COMMIT;";
        if (const int rc = exec_sql(db_, create.c_str()); rc != SQLITE_OK) {
            auto failure = sqlite_failed(rc, "cannot create the spool tables");
            exec_sql(db_, "ROLLBACK");
            return failure;
        }
        return std::nullopt;
    }
    if (version == 1 || version == 2) {
        if (auto failure = raise_from(static_cast<int>(version))) return failure;
        version = kVersion;
    }
    if (version != kVersion) {
        return corrupt("unknown spool schema version " + std::to_string(version) +
                       " (this relay knows version " + std::to_string(kVersion) +
                       "; was it written by a newer relay?)");
    }
    // quick_check: page structure, overflow chains, free list (everything but index contents).
    SqliteStatement check;
    int rc = check.prepare(db_, "PRAGMA quick_check(5)");
    if (rc != SQLITE_OK) return sqlite_failed(rc, "integrity check");
    std::string problems;
    while ((rc = check.step()) == SQLITE_ROW) {
        const std::string line = check.column_string(0);
        if (line == "ok") continue;
        if (!problems.empty()) problems += "; ";
        problems += line;
    }
    if (rc != SQLITE_DONE) return sqlite_failed(rc, "integrity check");
    if (!problems.empty()) return corrupt("the integrity check failed: " + problems);
    return std::nullopt;
}

// Raises a version-1 or -2 spool to the current version in one transaction (all or nothing).
// Version 1 held plain bodies only, which version 2 reads as they are; its indexes are rebuilt
// as version 2 has them. Version 3 adds tables and indexes and the dead letters' request id,
// and changes nothing a version-2 relay reads or writes: one still running on the file (an
// operator tool raised it) keeps working. The new number keeps an older relay from opening
// the file afterwards (it would misread what it does not know).
std::optional<SpoolOpenFailure> SpoolSchema::raise_from(int version) {
    std::string raise = "BEGIN IMMEDIATE;";
    if (version == 1) raise += kIndexesFromV1;
    raise += kTablesV3;
    if (const int rc = exec_sql(db_, raise.c_str()); rc != SQLITE_OK) {
        auto failure =
            sqlite_failed(rc, "cannot raise the spool schema version from " + std::to_string(version));
        exec_sql(db_, "ROLLBACK");
        return failure;
    }
    std::int64_t has_request_id = 0;
    int rc =
        query_int(db_, "SELECT count(*) FROM pragma_table_info('dead_letters') WHERE name = 'request_id'",
                  &has_request_id);
    if (rc == SQLITE_OK && has_request_id == 0) rc = exec_sql(db_, kDeadLetterRequestId);
    if (rc == SQLITE_OK) {
        const std::string tail = std::string(kDeadLetterRequestIndex) +
                                 "PRAGMA user_version=" + std::to_string(Spool::kSchemaVersion) + "; COMMIT;";
        rc = exec_sql(db_, tail.c_str());
    }
    if (rc != SQLITE_OK) {
        auto failure =
            sqlite_failed(rc, "cannot raise the spool schema version from " + std::to_string(version));
        exec_sql(db_, "ROLLBACK");
        return failure;
    }
    return std::nullopt;
}

std::optional<SpoolOpenFailure> SpoolSchema::drop_unfinished_runs() {
    // Held batches are found through batches_due (write_key, next_attempt_ms): one index
    // probe per write key, never a pass over the rows and their bodies.
    const std::string held = std::to_string(Spool::kHeldUntilMs);
    const std::string drop =
        "BEGIN IMMEDIATE;"
        "DELETE FROM batches WHERE write_key IN (SELECT DISTINCT write_key FROM batches) AND next_attempt_ms "
        "= " +
        held +
        ";"
        "DELETE FROM sync_stage;"
        "UPDATE runs SET outcome = 'process_ended', finished_ms = " +
        std::to_string(now_ms_) + " WHERE outcome IN ('running', 'delivering'); COMMIT;";
    if (const int rc = exec_sql(db_, drop.c_str()); rc != SQLITE_OK) {
        auto failure = sqlite_failed(rc, "cannot drop what an interrupted sync run left");
        exec_sql(db_, "ROLLBACK");
        return failure;
    }
    return std::nullopt;
}

std::optional<SpoolOpenFailure> SpoolSchema::prepare(SpoolStatements& statements) {
    std::string failed_sql;
    if (const int rc = statements.prepare(db_, &failed_sql); rc != SQLITE_OK) {
        if ((rc & 0xff) == SQLITE_ERROR) {
            return corrupt("its tables do not match spool schema version " +
                           std::to_string(Spool::kSchemaVersion) + " (" + sqlite3_errmsg(db_) + ")");
        }
        return sqlite_failed(rc, "cannot prepare the spool statements");
    }
    return std::nullopt;
}

}  // namespace lsr::server
