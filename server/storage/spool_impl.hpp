// Spool's state behind its mutex: the connection and its statements, the leases, the running
// byte and batch counts, and the helpers the hot path and the operator functions share.
// Internal to server/storage (spool.cpp, spool_open.cpp, spool_operator.cpp).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "core/clock.hpp"
#include "server/storage/spool.hpp"
#include "server/storage/spool_lock.hpp"
#include "server/storage/spool_space.hpp"
#include "server/storage/spool_statements.hpp"

struct sqlite3;

namespace lsr::server {

// Closes the connection after every statement is finalised (declared before them, destroyed
// after them).
struct SqliteConnection {
    sqlite3* db = nullptr;
    SqliteConnection() = default;
    SqliteConnection(const SqliteConnection&) = delete;
    SqliteConnection& operator=(const SqliteConnection&) = delete;
    ~SqliteConnection();
};

struct Spool::Impl {
    static constexpr int kBusyTimeoutMs = 5000;
    // Batches whose settle failed to write (disk full, I/O error) stay leased this long (on
    // the spool's clock), so the dispatcher does not resend them in a tight loop.
    static constexpr std::int64_t kSettleRetryHoldMs = 30'000;

    explicit Impl(const core::Clock& c) : clock(c) {}

    // Declared before the connection: the lock is let go only after the database is closed.
    std::unique_ptr<SpoolLock> lock;
    SqliteConnection connection;
    SpoolStatements sql;
    sqlite3* db = nullptr;  // connection.db
    const core::Clock& clock;
    std::string path;
    std::uint64_t max_bytes = 0;
    std::optional<SpoolSpace> space;
    std::uint64_t page_size = 65536;
    std::uint64_t wal_reserve = 0;  // SpoolSpace::wal_reserve
    std::mutex mu;
    std::unordered_set<std::int64_t> leased;
    std::unordered_map<std::int64_t, std::int64_t> held_until_ms;  // see kSettleRetryHoldMs
    std::uint64_t bytes = 0;                                       // SUM(bytes) of batches
    // The largest batch body seen (not lowered until a reload): settling a batch (reschedule,
    // split, dead letter) writes its body anew before the old pages are freed.
    std::uint64_t largest_batch = 0;
    std::uint64_t count = 0;         // batches (a running count, like bytes)
    std::int64_t stage_seq = 0;      // SyncStore::stage: the order of staged rows (see sync_stage)
    std::int64_t data_version = -1;  // to notice commits of other connections (tools)
    bool write_failed = false;
    bool sync_full = true;      // cfg.synchronous_full: what appends get
    bool sync_full_now = true;  // the connection's current setting

    // --- helpers (mu held) ---

    std::int64_t now_ms() const { return clock.unix_ms(); }
    void hold(std::int64_t id);
    void release_expired_holds();

    // The error for SQLite result `rc` of step `what`, with the connection's message; notes
    // a failed write (see writable()). Call it before anything else runs on the connection.
    SpoolError fail(int rc, const char* what);
    int exec(const char* sql);
    // Runs a statement that returns no row (or ignores its rows).
    int run(SqliteStatement& s);
    int begin_write() { return run(sql.begin); }
    int begin_read() { return run(sql.begin_read); }
    // Commits; on failure the error of the commit (`what`), and the transaction rolled back.
    SpoolError commit_write(const char* what);
    void rollback_if_open();
    // Appends (what Looker is told is safe) and operator actions commit with the configured
    // level; settles with NORMAL (see spool_impl.cpp). Every write calls it first: after a
    // failed write it also checkpoints the WAL (checkpoint_after_failure).
    void durable_commits(bool full);
    // After a failed write (write_failed): checkpoints and truncates the WAL, unless a reader
    // is in the way. On a filesystem smaller than the WAL's checkpoint point (half its
    // reserve), the WAL itself can be what filled the disk; only a successful commit runs the
    // autocheckpoint, so without this nothing would ever give that space back.
    void checkpoint_after_failure();
    // Another connection (an operator tool) may have committed: reload the byte total.
    void refresh_if_changed();
    int reload_bytes();
    // A write succeeded: the database accepts writes again; a WAL past its reserve is cut back.
    void wrote();
    // Deletes batch `id`; sets *removed_bytes. SQLITE_NOTFOUND when absent.
    int delete_one(std::int64_t id, std::uint64_t* removed_bytes);
    // `batches` batches of `n` body bytes in all left the table (committed).
    void sub_bytes(std::uint64_t n, std::uint64_t batches = 1);
    SpoolFootprint footprint();
    // Whether `n` batches with `added` body bytes, the largest `largest_new`, fit.
    std::error_code fits(std::uint64_t added, std::size_t n, std::uint64_t largest_new);
    // Checkpoints and truncates a WAL grown past its reserve, unless a reader is in the way.
    void trim_wal();
};

}  // namespace lsr::server
