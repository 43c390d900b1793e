#include "server/storage/spool.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "server/storage/spool_space.hpp"
#include "server/storage/sqlite_statement.hpp"

namespace lsr::server {

namespace {

namespace fs = std::filesystem;

// Large pages: a batch body of ~475 KB spans a handful of overflow pages instead of
// a hundred, which keeps inserts, reads and deletes of whole batches cheap.
constexpr int kPageSize = 65536;
// A small spool (under 256 MiB) gets SQLite's default pages instead: with 64 KiB pages its
// fixed part (schema, table and index roots, the WAL reserve) would take most of max_bytes.
constexpr int kSmallSpoolPageSize = 4096;
constexpr std::uint64_t kLargePagesFrom = 256ull * 1024 * 1024;

int page_size_for(std::uint64_t max_bytes) {
    return max_bytes >= kLargePagesFrom ? kPageSize : kSmallSpoolPageSize;
}
constexpr int kBusyTimeoutMs = 5000;

class SpoolCategory final : public std::error_category {
  public:
    const char* name() const noexcept override { return "spool"; }
    std::string message(int value) const override {
        switch (static_cast<SpoolErrc>(value)) {
            case SpoolErrc::ok:
                return "ok";
            case SpoolErrc::full:
                return "spool full: accepting this would exceed spool.max_bytes";
            case SpoolErrc::io:
                return "spool database error";
            case SpoolErrc::corrupt:
                return "spool file is not a valid spool database";
            case SpoolErrc::not_found:
                return "no such spool entry";
            case SpoolErrc::locked:
                return "spool in use by another relay";
            case SpoolErrc::low_space:
                return "low disk space: the spool's filesystem has less free space than spool.min_free_bytes";
        }
        return "unknown spool error";
    }
};

std::int64_t wall_now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string utc_stamp() {
    const std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
    return buf;
}

bool is_corruption(int rc) {
    const int primary = rc & 0xff;
    return primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB;
}

std::string corrupt_message(const std::string& path, const std::string& detail) {
    const std::string aside = path + ".corrupt-" + utc_stamp();
    return "spool " + path + " is not a usable spool database: " + detail +
           ". The relay will not start on it. Way out: stop the relay and move the file aside "
           "(with its -wal and -shm files if present): mv " +
           path + " " + aside + "; the relay then starts with an empty spool; `looker-segment-relay spool " +
           "salvage --from " + aside + " --to " + path + "` copies every readable batch and dead letter " +
           "into the new spool.";
}

// The exclusive locks this process holds on "<spool>.lock" files, by device and inode: Spool
// objects of one process on the same path share one (flock would otherwise refuse a second
// open file description of the same process). Closed when the last Spool using it goes.
struct HeldLock {
    int fd = -1;
    std::size_t users = 0;
};
using LockKey = std::pair<dev_t, ino_t>;

std::mutex& held_locks_mu() {
    static std::mutex mu;
    return mu;
}
std::map<LockKey, HeldLock>& held_locks() {
    static std::map<LockKey, HeldLock> locks;
    return locks;
}

// Up to 31 bytes of the lock file: the pid its holder wrote ("" when unknown).
std::string lock_holder(int fd) {
    char buf[32] = {};
    const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
    std::string pid;
    for (ssize_t i = 0; i < n && buf[i] >= '0' && buf[i] <= '9'; ++i) pid += buf[i];
    return pid;
}

}  // namespace

// One reference to a held lock; released (and the file closed when unused) on destruction.
class SpoolLock {
  public:
    // Takes the lock on `lock_path` or explains why not in *message (SpoolErrc::locked when
    // another process holds it, io otherwise). `spool_path` only names the spool in texts.
    static std::unique_ptr<SpoolLock> acquire(const std::string& spool_path, const std::string& lock_path,
                                              SpoolErrc* errc, std::string* message) {
        // A few tries: another process may delete and recreate the file between our open and
        // our flock (it must not, but then we would hold the lock of an unlinked inode).
        for (int attempt = 0; attempt < 5; ++attempt) {
            const mode_t old_mask = ::umask(077);
            const int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
            const int open_errno = errno;
            ::umask(old_mask);
            if (fd < 0) {
                *errc = SpoolErrc::io;
                *message =
                    "cannot open the spool's lock file " + lock_path + ": " + std::strerror(open_errno);
                return nullptr;
            }
            struct stat st {};
            if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
                ::close(fd);
                *errc = SpoolErrc::io;
                *message = "the spool's lock file " + lock_path + " is not a regular file";
                return nullptr;
            }
            if ((st.st_mode & 077) != 0) ::fchmod(fd, 0600);
            const LockKey key{st.st_dev, st.st_ino};
            std::lock_guard guard(held_locks_mu());
            if (auto it = held_locks().find(key); it != held_locks().end()) {
                ::close(fd);  // ours is held through the registered descriptor
                ++it->second.users;
                return std::unique_ptr<SpoolLock>(new SpoolLock(key));
            }
            int rc;
            do {
                rc = ::flock(fd, LOCK_EX | LOCK_NB);
            } while (rc != 0 && errno == EINTR);
            if (rc != 0) {
                const int lock_errno = errno;
                const std::string pid = lock_holder(fd);
                ::close(fd);
                if (lock_errno == EWOULDBLOCK) {
                    *errc = SpoolErrc::locked;
                    *message = "spool " + spool_path + " is in use: another relay (" +
                               (pid.empty() ? std::string("pid unknown") : "pid " + pid) +
                               ") holds its lock " + lock_path +
                               ". Two relays must never serve the same spool: stop the other relay "
                               "first, or give this one its own spool.path. (The `spool` subcommands "
                               "work while a relay runs.)";
                } else {
                    *errc = SpoolErrc::io;
                    *message = "cannot lock the spool's lock file " + lock_path + ": " +
                               std::strerror(lock_errno) +
                               " (the spool needs a filesystem with flock support)";
                }
                return nullptr;
            }
            struct stat now {};
            if (::stat(lock_path.c_str(), &now) != 0 || now.st_dev != st.st_dev || now.st_ino != st.st_ino) {
                ::close(fd);  // replaced under us: lock the file that is there now
                continue;
            }
            // For the message of a relay that finds the spool taken.
            const std::string pid = std::to_string(::getpid()) + "\n";
            if (::ftruncate(fd, 0) == 0) {
                [[maybe_unused]] const ssize_t written = ::pwrite(fd, pid.data(), pid.size(), 0);
            }
            held_locks().emplace(key, HeldLock{fd, 1});
            return std::unique_ptr<SpoolLock>(new SpoolLock(key));
        }
        *errc = SpoolErrc::io;
        *message = "the spool's lock file " + lock_path + " keeps being replaced; cannot lock it";
        return nullptr;
    }

    ~SpoolLock() {
        std::lock_guard guard(held_locks_mu());
        auto it = held_locks().find(key_);
        if (it == held_locks().end()) return;
        if (--it->second.users == 0) {
            ::close(it->second.fd);  // releases the flock
            held_locks().erase(it);
        }
    }
    SpoolLock(const SpoolLock&) = delete;
    SpoolLock& operator=(const SpoolLock&) = delete;

  private:
    explicit SpoolLock(LockKey key) : key_(key) {}
    LockKey key_;
};

namespace {

struct OpenFailure {
    SpoolErrc errc = SpoolErrc::io;
    std::string message;
};

// The statements the spool uses, prepared once at open.
constexpr const char* kSchema = R"sql(
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
CREATE INDEX batches_due ON batches (write_key, next_attempt_ms);
CREATE TABLE dead_letters (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    write_key TEXT NOT NULL,
    events INTEGER NOT NULL,
    status INTEGER NOT NULL,
    reason TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    dead_ms INTEGER NOT NULL,
    attempts INTEGER NOT NULL,
    body BLOB NOT NULL
);
)sql";
// The body is the last column on purpose: a row's small columns are then read without
// walking the body's overflow pages.

}  // namespace

const std::error_category& spool_category() {
    static const SpoolCategory category;
    return category;
}

std::error_code make_error_code(SpoolErrc e) {
    return {static_cast<int>(e), spool_category()};
}

// Closes the connection after every statement of the Impl is finalised (declared first,
// destroyed last).
struct SqliteConnection {
    sqlite3* db = nullptr;
    SqliteConnection() = default;
    SqliteConnection(const SqliteConnection&) = delete;
    SqliteConnection& operator=(const SqliteConnection&) = delete;
    ~SqliteConnection() {
        if (db != nullptr) sqlite3_close_v2(db);
    }
};

struct Spool::Impl {
    // Declared before the connection: the lock is let go only after the database is closed.
    std::unique_ptr<SpoolLock> lock;
    SqliteConnection connection;
    sqlite3* db = nullptr;  // connection.db
    std::string path;
    std::uint64_t max_bytes = 0;
    std::optional<SpoolSpace> space;
    std::uint64_t page_size = kPageSize;
    std::uint64_t wal_reserve = 0;  // SpoolSpace::wal_reserve
    std::mutex mu;
    std::unordered_set<std::int64_t> leased;
    // Batches whose settle failed to write (disk full, I/O error): kept leased for a while,
    // so the dispatcher does not resend them in a tight loop, then offered again.
    std::unordered_map<std::int64_t, std::int64_t> held_until_ms;
    static constexpr std::int64_t kSettleRetryHoldMs = 30'000;

    void hold(std::int64_t id) {
        leased.insert(id);
        held_until_ms[id] = wall_now_ms() + kSettleRetryHoldMs;
    }
    void release_expired_holds(std::int64_t now_ms) {
        for (auto it = held_until_ms.begin(); it != held_until_ms.end();) {
            if (it->second <= now_ms) {
                leased.erase(it->first);
                it = held_until_ms.erase(it);
            } else {
                ++it;
            }
        }
    }
    std::uint64_t bytes = 0;  // SUM(bytes) of batches
    // The largest batch body seen (not lowered until a reload): settling a batch (reschedule,
    // split, dead letter) writes its body anew before the old pages are freed.
    std::uint64_t largest_batch = 0;
    std::uint64_t count = 0;         // batches (a running count, like bytes)
    std::int64_t data_version = -1;  // to notice commits of other connections (tools)
    std::string last_error;
    bool write_failed = false;
    bool sync_full = true;      // cfg.synchronous_full: what appends get
    bool sync_full_now = true;  // the connection's current setting

    SqliteStatement begin, commit, rollback, sync_full_q, sync_normal_q;
    SqliteStatement data_version_q, sum_bytes, freelist_q;
    SqliteStatement insert_batch, select_due, select_batch, delete_batch, reschedule_q, split_insert;
    SqliteStatement dead_insert, distinct_keys, key_schedule;
    SqliteStatement stats_batches, stats_dead;
    SqliteStatement list_dead, list_dead_body;
    SqliteStatement replay_one, replay_all, delete_dead_one, delete_dead_all, delete_batches_all;
    SqliteStatement insert_dead;

    // --- helpers (mu held) ---

    std::error_code fail(int rc, const char* what) {
        last_error = std::string(what) + ": " + sqlite3_errstr(rc);
        if (db != nullptr && sqlite3_errcode(db) != SQLITE_OK) {
            last_error += " (" + std::string(sqlite3_errmsg(db)) + ")";
        }
        const int primary = rc & 0xff;
        if (primary == SQLITE_FULL || primary == SQLITE_IOERR || primary == SQLITE_READONLY ||
            primary == SQLITE_CANTOPEN || is_corruption(rc)) {
            write_failed = true;
        }
        return is_corruption(rc) ? make_error_code(SpoolErrc::corrupt) : make_error_code(SpoolErrc::io);
    }

    // Runs a statement that returns no row (or ignores its rows).
    int run(SqliteStatement& s) {
        StatementReset reset(s);
        int rc = s.step();
        while (rc == SQLITE_ROW) rc = s.step();
        return rc == SQLITE_DONE ? SQLITE_OK : rc;
    }

    int begin_write() { return run(begin); }
    int commit_write() {
        const int rc = run(commit);
        if (rc != SQLITE_OK) rollback_if_open();
        return rc;
    }
    void rollback_if_open() {
        if (sqlite3_get_autocommit(db) == 0) run(rollback);
    }

    // Appends (what Looker is told is safe) and operator actions commit with the configured
    // level. Settling a batch (delivered, rescheduled, split, dead-lettered) commits with
    // NORMAL: in WAL mode that survives a crash of the process, and the next FULL commit
    // syncs it too; only a power loss in between can undo it, and then the batch is simply
    // sent again (Segment deduplicates by messageId) - never lost. Half the fsyncs.
    void durable_commits(bool full) {
        full = full && sync_full;
        if (full == sync_full_now) return;
        if (run(full ? sync_full_q : sync_normal_q) == SQLITE_OK) sync_full_now = full;
    }

    // Another connection (an operator tool) may have committed: reload the byte total.
    void refresh_if_changed() {
        std::int64_t version = -1;
        {
            StatementReset reset(data_version_q);
            if (data_version_q.step() == SQLITE_ROW) version = data_version_q.column_int64(0);
        }
        if (version == data_version) return;
        data_version = version;
        reload_bytes();
    }

    int reload_bytes() {
        StatementReset reset(sum_bytes);
        const int rc = sum_bytes.step();
        if (rc != SQLITE_ROW) return rc;
        bytes = static_cast<std::uint64_t>(sum_bytes.column_int64(0));
        largest_batch = static_cast<std::uint64_t>(sum_bytes.column_int64(1));
        count = static_cast<std::uint64_t>(sum_bytes.column_int64(2));
        return SQLITE_OK;
    }

    // A write succeeded: the database accepts writes again. A WAL that grew past its reserve
    // is cut back now, so what is counted stays what is on disk.
    void wrote() {
        write_failed = false;
        last_error.clear();
        trim_wal();
    }

    // Deletes batch `id`; sets *removed_bytes. SQLITE_NOTFOUND when absent.
    int delete_one(std::int64_t id, std::uint64_t* removed_bytes) {
        StatementReset reset(delete_batch);
        delete_batch.bind_int64(1, id);
        int rc = delete_batch.step();
        if (rc == SQLITE_DONE) return SQLITE_NOTFOUND;
        if (rc != SQLITE_ROW) return rc;
        *removed_bytes = static_cast<std::uint64_t>(delete_batch.column_int64(0));
        rc = delete_batch.step();
        return rc == SQLITE_DONE ? SQLITE_OK : rc;
    }

    // One batch of `n` body bytes left the table (committed).
    void sub_bytes(std::uint64_t n) {
        bytes = n > bytes ? 0 : bytes - n;
        if (count > 0) --count;
    }

    // The files as they are now (mu held).
    SpoolFootprint footprint() {
        SpoolFootprint f;
        f.page_size = page_size;
        std::error_code fec;
        const auto db_size = fs::file_size(path, fec);
        if (!fec) f.db_file = db_size;
        const auto wal_size = fs::file_size(path + "-wal", fec);
        if (!fec) f.wal_file = wal_size;
        {
            StatementReset reset(freelist_q);
            if (freelist_q.step() == SQLITE_ROW)
                f.free_bytes = static_cast<std::uint64_t>(freelist_q.column_int64(0)) * page_size;
        }
        f.batches = count;
        return f;
    }

    // Whether `n` batches with `added` body bytes, the largest `largest_new`, fit (mu held).
    std::error_code fits(std::uint64_t added, std::size_t n, std::uint64_t largest_new) {
        if (bytes + added > max_bytes || added > max_bytes) return make_error_code(SpoolErrc::full);
        trim_wal();
        SpoolFootprint f = footprint();
        f.largest_batch = std::max(largest_batch, largest_new);
        return space->check(f, added, n);
    }

    // The WAL grew past its reserve (a large transaction, or settles since the last append):
    // checkpoint it and truncate the file, unless a reader (an operator tool) is in the way -
    // then the autocheckpoint does it later. Never waits.
    void trim_wal() {
        std::error_code fec;
        const auto wal_size = fs::file_size(path + "-wal", fec);
        if (fec || wal_size <= wal_reserve) return;
        sqlite3_busy_timeout(db, 0);
        sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
        sqlite3_busy_timeout(db, kBusyTimeoutMs);
    }
};

namespace {

int exec_sql(sqlite3* db, const char* sql) {
    return sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
}

// Runs a PRAGMA (or any query) and returns its first column of its first row as text.
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

// Looks at the file before SQLite does, so that a file that is not a database is never
// touched (SQLite would otherwise create -wal/-shm files beside it).
std::optional<OpenFailure> precheck_file(const std::string& path, bool create, bool* is_new) {
    std::error_code fec;
    const fs::path p(path);
    const auto status = fs::status(p, fec);
    if (fec && fec != std::errc::no_such_file_or_directory) {
        return OpenFailure{SpoolErrc::io, "cannot access spool " + path + ": " + fec.message()};
    }
    if (!fs::exists(status)) {
        if (!create)
            return OpenFailure{SpoolErrc::not_found, "no spool at " + path + " (file does not exist)"};
        *is_new = true;
        return std::nullopt;
    }
    if (!fs::is_regular_file(status)) {
        return OpenFailure{SpoolErrc::io, "spool path " + path + " exists but is not a regular file"};
    }
    const auto size = fs::file_size(p, fec);
    if (fec)
        return OpenFailure{SpoolErrc::io, "cannot read the size of spool " + path + ": " + fec.message()};
    if (size == 0) {
        const auto wal_size = fs::file_size(path + "-wal", fec);
        if (!fec && wal_size > 0) {
            return OpenFailure{
                SpoolErrc::corrupt,
                corrupt_message(path, "the file is empty but its -wal file is not (truncated)")};
        }
        *is_new = true;  // an empty file holds nothing: start a new spool in it
        return std::nullopt;
    }
    std::ifstream in(p, std::ios::binary);
    if (!in) return OpenFailure{SpoolErrc::io, "cannot open spool " + path + " for reading"};
    char header[16] = {};
    in.read(header, sizeof header);
    static constexpr char kMagic[16] = {'S', 'Q', 'L', 'i', 't', 'e', ' ', 'f',
                                        'o', 'r', 'm', 'a', 't', ' ', '3', '\0'};
    if (in.gcount() < static_cast<std::streamsize>(sizeof header) ||
        !std::equal(std::begin(kMagic), std::end(kMagic), header)) {
        return OpenFailure{SpoolErrc::corrupt,
                           corrupt_message(path,
                                           "it does not start with the SQLite header (not a database, or "
                                           "overwritten)")};
    }
    if (size < 512) {
        return OpenFailure{SpoolErrc::corrupt,
                           corrupt_message(path, "it is truncated (" + std::to_string(size) + " bytes)")};
    }
    return std::nullopt;
}

// Owner-only permissions on the database and its companions.
std::optional<OpenFailure> restrict_permissions(const std::string& path) {
    for (const char* suffix : {"", "-wal", "-shm"}) {
        const std::string file = path + suffix;
        struct stat st {};
        if (::stat(file.c_str(), &st) != 0) continue;
        if ((st.st_mode & 0777) == 0600) continue;
        if (::chmod(file.c_str(), 0600) != 0 && (st.st_mode & 077) != 0) {
            return OpenFailure{SpoolErrc::io,
                               "cannot restrict spool file " + file +
                                   " to its owner (chmod 0600 failed); it must not be readable "
                                   "by others"};
        }
    }
    return std::nullopt;
}

// SQLite's temporary files (sorts, statement journals): in memory by default, so the spool
// works on a read-only root filesystem without /tmp; in `dir` when spool.temp_dir is set. The
// directory is process-wide in SQLite (sqlite3_temp_directory): a relay has one spool.
std::optional<OpenFailure> use_temp_dir(sqlite3* db, const std::string& dir) {
    if (dir.empty()) {
        if (exec_sql(db, "PRAGMA temp_store=MEMORY") != SQLITE_OK)
            return OpenFailure{SpoolErrc::io, "cannot keep SQLite's temporary files in memory"};
        return std::nullopt;
    }
    std::error_code fec;
    const mode_t old_mask = ::umask(077);
    fs::create_directories(dir, fec);
    ::umask(old_mask);
    if (fec) return OpenFailure{SpoolErrc::io, "cannot create spool.temp_dir " + dir + ": " + fec.message()};
    static std::mutex mu;
    std::lock_guard lock(mu);
    if (sqlite3_temp_directory == nullptr || dir != sqlite3_temp_directory) {
        char* copy = sqlite3_mprintf("%s", dir.c_str());
        if (copy == nullptr) return OpenFailure{SpoolErrc::io, "out of memory"};
        sqlite3_free(sqlite3_temp_directory);
        sqlite3_temp_directory = copy;
    }
    if (exec_sql(db, "PRAGMA temp_store=FILE") != SQLITE_OK)
        return OpenFailure{SpoolErrc::io, "cannot set SQLite's temporary file store"};
    return std::nullopt;
}

}  // namespace

Spool::Spool(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Spool::~Spool() = default;

std::unique_ptr<Spool> Spool::open(const config::SpoolConfig& cfg, std::error_code& ec,
                                   std::string& message) {
    return open(cfg, SpoolOpenOptions{}, ec, message);
}

std::unique_ptr<Spool> Spool::open(const config::SpoolConfig& cfg, const SpoolOpenOptions& options,
                                   std::error_code& ec, std::string& message) {
    ec.clear();
    message.clear();
    const std::string& path = cfg.path;
    auto failed = [&](SpoolErrc errc, std::string text) -> std::unique_ptr<Spool> {
        ec = make_error_code(errc);
        message = std::move(text);
        return nullptr;
    };
    if (path.empty()) return failed(SpoolErrc::io, "spool.path is empty");

    // Parent directories, owner-only when we create them.
    const fs::path parent = fs::path(path).parent_path();
    if (!parent.empty() && options.create) {
        std::error_code fec;
        const mode_t old_mask = ::umask(077);
        fs::create_directories(parent, fec);
        ::umask(old_mask);
        if (fec) {
            return failed(SpoolErrc::io,
                          "cannot create the spool directory " + parent.string() + ": " + fec.message());
        }
    }

    // The lock before anything else touches the database: a relay never even reads a spool
    // another relay serves. A spool that must not be created and is missing is reported as
    // such first (no lock file is created beside a path that holds no spool).
    std::unique_ptr<SpoolLock> lock;
    if (options.exclusive) {
        std::error_code fec;
        if (!options.create && !fs::exists(fs::status(path, fec))) {
            return failed(SpoolErrc::not_found, "no spool at " + path + " (file does not exist)");
        }
        SpoolErrc errc = SpoolErrc::io;
        std::string text;
        lock = SpoolLock::acquire(path, path + ".lock", &errc, &text);
        if (!lock) return failed(errc, std::move(text));
    }

    bool is_new = false;
    if (auto failure = precheck_file(path, options.create, &is_new)) {
        return failed(failure->errc, std::move(failure->message));
    }

    auto impl = std::make_unique<Impl>();
    impl->lock = std::move(lock);
    impl->path = path;
    impl->max_bytes = cfg.max_bytes;
    impl->sync_full = cfg.synchronous_full;
    impl->sync_full_now = cfg.synchronous_full;
    {
        const mode_t old_mask = ::umask(077);
        const int flags =
            SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (options.create ? SQLITE_OPEN_CREATE : 0);
        const int rc = sqlite3_open_v2(path.c_str(), &impl->connection.db, flags, nullptr);
        ::umask(old_mask);
        impl->db = impl->connection.db;
        if (rc != SQLITE_OK) {
            return failed(SpoolErrc::io, "cannot open spool " + path + ": " + sqlite_detail(impl->db, rc));
        }
    }
    if (auto failure = restrict_permissions(path)) return failed(failure->errc, std::move(failure->message));
    sqlite3* db = impl->db;
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, kBusyTimeoutMs);

    // Any error from here on names the file; corruption gets the way out.
    auto sqlite_failed = [&](int rc, const std::string& what) {
        if (is_corruption(rc)) {
            return failed(SpoolErrc::corrupt, corrupt_message(path, what + ": " + sqlite_detail(db, rc)));
        }
        return failed(SpoolErrc::io, "spool " + path + ": " + what + ": " + sqlite_detail(db, rc));
    };

    if (is_new) {
        const std::string pragma = "PRAGMA page_size=" + std::to_string(page_size_for(cfg.max_bytes));
        if (const int rc = exec_sql(db, pragma.c_str()); rc != SQLITE_OK)
            return sqlite_failed(rc, "page size");
    }
    std::string mode;
    if (const int rc = query_text(db, "PRAGMA journal_mode=WAL", &mode); rc != SQLITE_OK) {
        return sqlite_failed(rc, "cannot read the database");
    }
    if (mode != "wal") {
        return failed(SpoolErrc::io, "spool " + path + ": cannot switch to WAL mode (journal mode is '" +
                                         mode +
                                         "'); is the file on a filesystem without shared memory support?");
    }
    {
        std::int64_t page_size = 0;
        if (const int rc = query_int(db, "PRAGMA page_size", &page_size); rc != SQLITE_OK)
            return sqlite_failed(rc, "cannot read the page size");
        if (page_size > 0) impl->page_size = static_cast<std::uint64_t>(page_size);
    }
    impl->space.emplace(path, cfg.max_bytes, cfg.min_free_bytes);
    if (auto failure = use_temp_dir(db, cfg.temp_dir))
        return failed(failure->errc, std::move(failure->message));
    {
        // The max_bytes bound always counts wal_reserve bytes of WAL (SpoolSpace). The WAL is
        // checkpointed every half of it and kept at that size (reused, not regrown); one that
        // grows past the reserve all the same (a large transaction) is cut back (trim_wal).
        const std::uint64_t wal_reserve = SpoolSpace::wal_reserve(cfg.max_bytes, impl->page_size);
        impl->wal_reserve = wal_reserve;
        const std::string pragmas =
            std::string("PRAGMA synchronous=") + (cfg.synchronous_full ? "FULL" : "NORMAL") +
            "; PRAGMA foreign_keys=OFF; PRAGMA wal_autocheckpoint=" +
            std::to_string(std::max<std::uint64_t>(1, wal_reserve / 2 / impl->page_size)) +
            "; PRAGMA journal_size_limit=" + std::to_string(wal_reserve / 2) + ";";
        if (const int rc = exec_sql(db, pragmas.c_str()); rc != SQLITE_OK)
            return sqlite_failed(rc, "settings");
    }
    if (auto failure = restrict_permissions(path)) return failed(failure->errc, std::move(failure->message));

    std::int64_t version = 0;
    if (const int rc = query_int(db, "PRAGMA user_version", &version); rc != SQLITE_OK) {
        return sqlite_failed(rc, "cannot read the schema version");
    }
    if (version == 0) {
        std::int64_t objects = 0;
        if (const int rc = query_int(db, "SELECT count(*) FROM sqlite_schema", &objects); rc != SQLITE_OK) {
            return sqlite_failed(rc, "cannot read the schema");
        }
        if (objects != 0) {
            return failed(SpoolErrc::corrupt,
                          corrupt_message(path,
                                          "it is an SQLite database but not a relay spool (it has tables and "
                                          "no spool schema version)"));
        }
        const std::string create = std::string("BEGIN IMMEDIATE;") + kSchema +
                                   "PRAGMA user_version=" + std::to_string(kSchemaVersion) + "; COMMIT;";
        if (const int rc = exec_sql(db, create.c_str()); rc != SQLITE_OK) {
            exec_sql(db, "ROLLBACK");
            return sqlite_failed(rc, "cannot create the spool tables");
        }
    } else if (version != kSchemaVersion) {
        return failed(
            SpoolErrc::corrupt,
            corrupt_message(path, "unknown spool schema version " + std::to_string(version) +
                                      " (this relay knows version " + std::to_string(kSchemaVersion) +
                                      "; was it written by a newer relay?)"));
    } else {
        // quick_check: page structure, overflow chains, free list (everything but index contents).
        SqliteStatement check;
        int rc = check.prepare(db, "PRAGMA quick_check(5)");
        if (rc != SQLITE_OK) return sqlite_failed(rc, "integrity check");
        std::string problems;
        while ((rc = check.step()) == SQLITE_ROW) {
            const std::string line = check.column_string(0);
            if (line == "ok") continue;
            if (!problems.empty()) problems += "; ";
            problems += line;
        }
        if (rc != SQLITE_DONE) return sqlite_failed(rc, "integrity check");
        if (!problems.empty()) {
            return failed(SpoolErrc::corrupt,
                          corrupt_message(path, "the integrity check failed: " + problems));
        }
    }

    struct Prepared {
        SqliteStatement* statement;
        const char* sql;
    };
    const Prepared statements[] = {
        {&impl->begin, "BEGIN IMMEDIATE"},
        {&impl->commit, "COMMIT"},
        {&impl->rollback, "ROLLBACK"},
        {&impl->sync_full_q, "PRAGMA synchronous=FULL"},
        {&impl->sync_normal_q, "PRAGMA synchronous=NORMAL"},
        {&impl->data_version_q, "PRAGMA data_version"},
        {&impl->sum_bytes, "SELECT COALESCE(SUM(bytes), 0), COALESCE(MAX(bytes), 0), count(*) FROM batches"},
        {&impl->freelist_q, "PRAGMA freelist_count"},
        {&impl->insert_batch,
         "INSERT INTO batches (write_key, events, bytes, request_id, created_ms, attempts, next_attempt_ms, "
         "last_error, body) VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6, '', ?7)"},
        {&impl->select_due,
         "SELECT id FROM batches WHERE write_key = ?1 AND next_attempt_ms <= ?2 ORDER BY created_ms, id"},
        {&impl->select_batch,
         "SELECT id, write_key, events, request_id, created_ms, attempts, next_attempt_ms, last_error, body "
         "FROM batches WHERE id = ?1"},
        {&impl->delete_batch, "DELETE FROM batches WHERE id = ?1 RETURNING bytes"},
        {&impl->reschedule_q,
         "UPDATE batches SET attempts = attempts + 1, next_attempt_ms = ?2, last_error = ?3 WHERE id = ?1"},
        {&impl->split_insert,
         "INSERT INTO batches (write_key, events, bytes, request_id, created_ms, attempts, next_attempt_ms, "
         "last_error, body) SELECT write_key, ?2, ?3, request_id, created_ms, attempts, ?4, last_error, ?5 "
         "FROM batches WHERE id = ?1"},
        {&impl->dead_insert,
         "INSERT INTO dead_letters (write_key, events, status, reason, created_ms, dead_ms, attempts, body) "
         "SELECT write_key, events, ?2, ?3, created_ms, ?4, attempts + 1, body FROM batches WHERE id = ?1"},
        {&impl->distinct_keys, "SELECT DISTINCT write_key FROM batches ORDER BY write_key"},
        {&impl->key_schedule,
         "SELECT id, next_attempt_ms FROM batches WHERE write_key = ?1 ORDER BY next_attempt_ms"},
        {&impl->stats_batches,
         "SELECT count(*), COALESCE(SUM(events), 0), COALESCE(SUM(bytes), 0), COALESCE(MIN(created_ms), 0) "
         "FROM batches"},
        {&impl->stats_dead, "SELECT count(*), COALESCE(SUM(events), 0) FROM dead_letters"},
        {&impl->list_dead,
         "SELECT id, write_key, events, status, reason, created_ms, dead_ms, attempts FROM dead_letters "
         "ORDER BY id LIMIT ?1"},
        {&impl->list_dead_body,
         "SELECT id, write_key, events, status, reason, created_ms, dead_ms, attempts, body FROM "
         "dead_letters "
         "ORDER BY id LIMIT ?1"},
        {&impl->replay_one,
         "INSERT INTO batches (write_key, events, bytes, request_id, created_ms, attempts, next_attempt_ms, "
         "last_error, body) SELECT write_key, events, length(body), '', created_ms, 0, ?2, '', body "
         "FROM dead_letters WHERE id = ?1"},
        {&impl->replay_all,
         "INSERT INTO batches (write_key, events, bytes, request_id, created_ms, attempts, next_attempt_ms, "
         "last_error, body) SELECT write_key, events, length(body), '', created_ms, 0, ?1, '', body "
         "FROM dead_letters ORDER BY id"},
        {&impl->delete_dead_one, "DELETE FROM dead_letters WHERE id = ?1"},
        {&impl->delete_dead_all, "DELETE FROM dead_letters"},
        {&impl->delete_batches_all, "DELETE FROM batches"},
        {&impl->insert_dead,
         "INSERT INTO dead_letters (write_key, events, status, reason, created_ms, dead_ms, attempts, body) "
         "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"},
    };
    for (const auto& [statement, sql] : statements) {
        if (const int rc = statement->prepare(db, sql); rc != SQLITE_OK) {
            if ((rc & 0xff) == SQLITE_ERROR) {
                return failed(SpoolErrc::corrupt,
                              corrupt_message(path, "its tables do not match spool schema version " +
                                                        std::to_string(kSchemaVersion) + " (" +
                                                        sqlite3_errmsg(db) + ")"));
            }
            return sqlite_failed(rc, "cannot prepare the spool statements");
        }
    }
    if (const int rc = impl->reload_bytes(); rc != SQLITE_OK)
        return sqlite_failed(rc, "cannot read the spool");
    {
        StatementReset reset(impl->data_version_q);
        if (impl->data_version_q.step() == SQLITE_ROW)
            impl->data_version = impl->data_version_q.column_int64(0);
    }
    return std::unique_ptr<Spool>(new Spool(std::move(impl)));
}

std::error_code Spool::append(const std::vector<NewBatch>& batches, std::vector<std::int64_t>* ids) {
    Impl& s = *impl_;
    std::lock_guard lock(s.mu);
    s.durable_commits(true);
    if (ids != nullptr) ids->clear();
    if (batches.empty()) return {};
    s.refresh_if_changed();
    std::uint64_t added = 0;
    std::uint64_t largest_new = 0;
    for (const auto& b : batches) {
        added += b.body.size();
        largest_new = std::max<std::uint64_t>(largest_new, b.body.size());
    }
    if (auto refused = s.fits(added, batches.size(), largest_new)) return refused;

    if (const int rc = s.begin_write(); rc != SQLITE_OK) return s.fail(rc, "append: begin");
    const std::int64_t now = wall_now_ms();
    std::vector<std::int64_t> new_ids;
    new_ids.reserve(batches.size());
    for (const auto& b : batches) {
        StatementReset reset(s.insert_batch);
        s.insert_batch.bind_text(1, b.write_key);
        s.insert_batch.bind_int64(2, b.events);
        s.insert_batch.bind_int64(3, static_cast<std::int64_t>(b.body.size()));
        s.insert_batch.bind_text(4, b.request_id);
        s.insert_batch.bind_int64(5, b.created_ms);
        s.insert_batch.bind_int64(6, now);
        s.insert_batch.bind_blob(7, b.body);
        if (const int rc = s.insert_batch.step(); rc != SQLITE_DONE) {
            auto ec = s.fail(rc, "append: insert");
            s.rollback_if_open();
            return ec;
        }
        new_ids.push_back(sqlite3_last_insert_rowid(s.db));
    }
    if (const int rc = s.commit_write(); rc != SQLITE_OK) return s.fail(rc, "append: commit");
    s.bytes += added;
    s.count += batches.size();
    s.largest_batch = std::max(s.largest_batch, largest_new);
    s.wrote();
    if (ids != nullptr) *ids = std::move(new_ids);
    return {};
}

std::vector<SpoolBatch> Spool::lease_due(std::string_view write_key, std::int64_t now_ms, std::size_t limit) {
    Impl& s = *impl_;
    std::lock_guard lock(s.mu);
    std::vector<SpoolBatch> out;
    s.release_expired_holds(now_ms);
    if (limit == 0) return out;
    std::vector<std::int64_t> chosen;
    {
        StatementReset reset(s.select_due);
        s.select_due.bind_text(1, write_key);
        s.select_due.bind_int64(2, now_ms);
        int rc;
        while (chosen.size() < limit && (rc = s.select_due.step()) == SQLITE_ROW) {
            const std::int64_t id = s.select_due.column_int64(0);
            if (!s.leased.contains(id)) chosen.push_back(id);
        }
    }
    out.reserve(chosen.size());
    for (const std::int64_t id : chosen) {
        StatementReset reset(s.select_batch);
        s.select_batch.bind_int64(1, id);
        if (s.select_batch.step() != SQLITE_ROW) continue;
        SpoolBatch b;
        b.id = s.select_batch.column_int64(0);
        b.write_key = s.select_batch.column_string(1);
        b.events = static_cast<std::uint32_t>(s.select_batch.column_int64(2));
        b.request_id = s.select_batch.column_string(3);
        b.created_ms = s.select_batch.column_int64(4);
        b.attempts = static_cast<std::uint32_t>(s.select_batch.column_int64(5));
        b.next_attempt_ms = s.select_batch.column_int64(6);
        b.last_error = s.select_batch.column_string(7);
        b.body = s.select_batch.column_string(8);
        s.leased.insert(b.id);
        out.push_back(std::move(b));
    }
    return out;
}

std::vector<std::pair<std::string, std::int64_t>> Spool::write_keys() {
    Impl& s = *impl_;
    std::lock_guard lock(s.mu);
    std::vector<std::pair<std::string, std::int64_t>> out;
    {
        StatementReset reset(s.distinct_keys);
        while (s.distinct_keys.step() == SQLITE_ROW) {
            out.emplace_back(s.distinct_keys.column_string(0), std::numeric_limits<std::int64_t>::max());
        }
    }
    for (auto& [key, earliest] : out) {
        StatementReset reset(s.key_schedule);
        s.key_schedule.bind_text(1, key);
        while (s.key_schedule.step() == SQLITE_ROW) {
            if (!s.leased.contains(s.key_schedule.column_int64(0))) {
                earliest = s.key_schedule.column_int64(1);
                break;
            }
        }
    }
    return out;
}

namespace {

// Ends a batch's lease when its settle is written; if the write fails, holds the batch
// (see Impl::hold) instead of offering it again at once.
class SettleHold {
  public:
    SettleHold(Spool::Impl& s, std::int64_t id) : s_(s), id_(id) {
        s_.leased.erase(id_);
        s_.held_until_ms.erase(id_);
    }
    ~SettleHold() {
        if (failed_) s_.hold(id_);
    }
    SettleHold(const SettleHold&) = delete;
    SettleHold& operator=(const SettleHold&) = delete;
    std::error_code failed(std::error_code ec) {
        failed_ = true;
        return ec;
    }

  private:
    Spool::Impl& s_;
    std::int64_t id_;
    bool failed_ = false;
};

}  // namespace

std::error_code Spool::mark_delivered(std::int64_t id) {
    Impl& s = *impl_;
    std::lock_guard lock(s.mu);
    s.durable_commits(false);
    SettleHold settle(s, id);
    std::uint64_t removed = 0;
    // A single statement is its own transaction: committed (and synced) before return.
    const int rc = s.delete_one(id, &removed);
    if (rc == SQLITE_NOTFOUND) return make_error_code(SpoolErrc::not_found);
    if (rc != SQLITE_OK) return settle.failed(s.fail(rc, "mark_delivered"));
    s.sub_bytes(removed);
    s.wrote();
    return {};
}

std::error_code Spool::reschedule(std::int64_t id, std::int64_t next_attempt_ms, std::string_view error) {
    Impl& s = *impl_;
    std::lock_guard lock(s.mu);
    s.durable_commits(false);
    SettleHold settle(s, id);
    StatementReset reset(s.reschedule_q);
    s.reschedule_q.bind_int64(1, id);
    s.reschedule_q.bind_int64(2, next_attempt_ms);
    s.reschedule_q.bind_text(3, SpoolSpace::clip_error(error));
    if (const int rc = s.reschedule_q.step(); rc != SQLITE_DONE)
        return settle.failed(s.fail(rc, "reschedule"));
    if (sqlite3_changes(s.db) == 0) return make_error_code(SpoolErrc::not_found);
    s.wrote();
    return {};
}

std::error_code Spool::split(std::int64_t id, const std::string& first_body, std::uint32_t first_events,
                             const std::string& second_body, std::uint32_t second_events,
                             std::int64_t* first_id, std::int64_t* second_id) {
    Impl& s = *impl_;
    std::lock_guard lock(s.mu);
    s.durable_commits(false);
    SettleHold settle(s, id);
    if (const int rc = s.begin_write(); rc != SQLITE_OK) return settle.failed(s.fail(rc, "split: begin"));
    const std::int64_t now = wall_now_ms();
    std::int64_t new_ids[2] = {0, 0};
    const std::string* bodies[2] = {&first_body, &second_body};
    const std::uint32_t events[2] = {first_events, second_events};
    for (int i = 0; i < 2; ++i) {
        StatementReset reset(s.split_insert);
        s.split_insert.bind_int64(1, id);
        s.split_insert.bind_int64(2, events[i]);
        s.split_insert.bind_int64(3, static_cast<std::int64_t>(bodies[i]->size()));
        s.split_insert.bind_int64(4, now);
        s.split_insert.bind_blob(5, *bodies[i]);
        if (const int rc = s.split_insert.step(); rc != SQLITE_DONE) {
            auto ec = settle.failed(s.fail(rc, "split: insert"));
            s.rollback_if_open();
            return ec;
        }
        if (sqlite3_changes(s.db) == 0) {
            s.rollback_if_open();
            return make_error_code(SpoolErrc::not_found);
        }
        new_ids[i] = sqlite3_last_insert_rowid(s.db);
    }
    std::uint64_t removed = 0;
    if (const int rc = s.delete_one(id, &removed); rc != SQLITE_OK) {
        auto ec = rc == SQLITE_NOTFOUND ? make_error_code(SpoolErrc::not_found)
                                        : settle.failed(s.fail(rc, "split: delete"));
        s.rollback_if_open();
        return ec;
    }
    if (const int rc = s.commit_write(); rc != SQLITE_OK) return settle.failed(s.fail(rc, "split: commit"));
    s.sub_bytes(removed);
    s.bytes += first_body.size() + second_body.size();
    s.count += 2;
    s.wrote();
    if (first_id != nullptr) *first_id = new_ids[0];
    if (second_id != nullptr) *second_id = new_ids[1];
    return {};
}

std::error_code Spool::dead_letter(std::int64_t id, int status, std::string_view reason) {
    Impl& s = *impl_;
    std::lock_guard lock(s.mu);
    s.durable_commits(false);
    SettleHold settle(s, id);
    if (const int rc = s.begin_write(); rc != SQLITE_OK)
        return settle.failed(s.fail(rc, "dead_letter: begin"));
    {
        StatementReset reset(s.dead_insert);
        s.dead_insert.bind_int64(1, id);
        s.dead_insert.bind_int64(2, status);
        s.dead_insert.bind_text(3, reason);
        s.dead_insert.bind_int64(4, wall_now_ms());
        if (const int rc = s.dead_insert.step(); rc != SQLITE_DONE) {
            auto ec = settle.failed(s.fail(rc, "dead_letter: insert"));
            s.rollback_if_open();
            return ec;
        }
        if (sqlite3_changes(s.db) == 0) {
            s.rollback_if_open();
            return make_error_code(SpoolErrc::not_found);
        }
    }
    std::uint64_t removed = 0;
    if (const int rc = s.delete_one(id, &removed); rc != SQLITE_OK) {
        auto ec = rc == SQLITE_NOTFOUND ? make_error_code(SpoolErrc::not_found)
                                        : settle.failed(s.fail(rc, "dead_letter: delete"));
        s.rollback_if_open();
        return ec;
    }
    if (const int rc = s.commit_write(); rc != SQLITE_OK)
        return settle.failed(s.fail(rc, "dead_letter: commit"));
    s.sub_bytes(removed);
    s.wrote();
    return {};
}

void Spool::release_all_leases() {
    std::lock_guard lock(impl_->mu);
    impl_->leased.clear();
    impl_->held_until_ms.clear();
}

SpoolStats Spool::stats() {
    Impl& s = *impl_;
    std::lock_guard lock(s.mu);
    SpoolStats st;
    // Both counts from one snapshot.
    exec_sql(s.db, "BEGIN");
    {
        StatementReset reset(s.stats_batches);
        if (s.stats_batches.step() == SQLITE_ROW) {
            st.batches = static_cast<std::uint64_t>(s.stats_batches.column_int64(0));
            st.events = static_cast<std::uint64_t>(s.stats_batches.column_int64(1));
            st.bytes = static_cast<std::uint64_t>(s.stats_batches.column_int64(2));
            st.oldest_created_ms = s.stats_batches.column_int64(3);
        }
    }
    {
        StatementReset reset(s.stats_dead);
        if (s.stats_dead.step() == SQLITE_ROW) {
            st.dead_letters = static_cast<std::uint64_t>(s.stats_dead.column_int64(0));
            st.dead_letter_events = static_cast<std::uint64_t>(s.stats_dead.column_int64(1));
        }
    }
    s.rollback_if_open();
    s.bytes = st.bytes;  // the exact figures, in case another connection wrote
    s.count = st.batches;
    for (const char* suffix : {"", "-wal"}) {
        std::error_code fec;
        const auto size = fs::file_size(s.path + suffix, fec);
        if (!fec) st.file_bytes += size;
    }
    return st;
}

std::vector<DeadLetter> Spool::list_dead_letters(std::size_t limit, bool with_body) {
    Impl& s = *impl_;
    std::lock_guard lock(s.mu);
    std::vector<DeadLetter> out;
    SqliteStatement& q = with_body ? s.list_dead_body : s.list_dead;
    StatementReset reset(q);
    const auto max = static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max());
    q.bind_int64(1, static_cast<std::int64_t>(limit > max ? max : limit));
    while (q.step() == SQLITE_ROW) {
        DeadLetter d;
        d.id = q.column_int64(0);
        d.write_key = q.column_string(1);
        d.events = static_cast<std::uint32_t>(q.column_int64(2));
        d.status = static_cast<int>(q.column_int64(3));
        d.reason = q.column_string(4);
        d.created_ms = q.column_int64(5);
        d.dead_ms = q.column_int64(6);
        d.attempts = static_cast<std::uint32_t>(q.column_int64(7));
        if (with_body) d.body = q.column_string(8);
        out.push_back(std::move(d));
    }
    return out;
}

std::error_code Spool::replay_dead_letters(const std::vector<std::int64_t>& ids, std::size_t* replayed) {
    Impl& s = *impl_;
    std::lock_guard lock(s.mu);
    s.durable_commits(true);
    if (replayed != nullptr) *replayed = 0;
    if (const int rc = s.begin_write(); rc != SQLITE_OK) return s.fail(rc, "replay: begin");
    const std::int64_t now = wall_now_ms();
    std::size_t count = 0;
    auto abort = [&](std::error_code ec) {
        s.rollback_if_open();
        return ec;
    };
    if (ids.empty()) {
        {
            StatementReset reset(s.replay_all);
            s.replay_all.bind_int64(1, now);
            if (const int rc = s.replay_all.step(); rc != SQLITE_DONE)
                return abort(s.fail(rc, "replay: insert"));
            count = static_cast<std::size_t>(sqlite3_changes(s.db));
        }
        if (const int rc = s.run(s.delete_dead_all); rc != SQLITE_OK)
            return abort(s.fail(rc, "replay: delete"));
    } else {
        // All or nothing: an unknown id replays none of them.
        for (const std::int64_t id : ids) {
            {
                StatementReset reset(s.replay_one);
                s.replay_one.bind_int64(1, id);
                s.replay_one.bind_int64(2, now);
                if (const int rc = s.replay_one.step(); rc != SQLITE_DONE)
                    return abort(s.fail(rc, "replay: insert"));
                if (sqlite3_changes(s.db) == 0) return abort(make_error_code(SpoolErrc::not_found));
            }
            StatementReset reset(s.delete_dead_one);
            s.delete_dead_one.bind_int64(1, id);
            if (const int rc = s.delete_dead_one.step(); rc != SQLITE_DONE)
                return abort(s.fail(rc, "replay: delete"));
            ++count;
        }
    }
    if (const int rc = s.reload_bytes(); rc != SQLITE_OK) return abort(s.fail(rc, "replay: sum"));
    if (const int rc = s.commit_write(); rc != SQLITE_OK) {
        s.reload_bytes();
        return s.fail(rc, "replay: commit");
    }
    s.wrote();
    if (replayed != nullptr) *replayed = count;
    return {};
}

std::error_code Spool::purge_dead_letters(std::size_t* purged) {
    Impl& s = *impl_;
    std::lock_guard lock(s.mu);
    s.durable_commits(true);
    if (purged != nullptr) *purged = 0;
    if (const int rc = s.run(s.delete_dead_all); rc != SQLITE_OK) return s.fail(rc, "purge dead letters");
    if (purged != nullptr) *purged = static_cast<std::size_t>(sqlite3_changes(s.db));
    s.wrote();
    return {};
}

std::error_code Spool::purge_batches(std::size_t* purged) {
    Impl& s = *impl_;
    std::lock_guard lock(s.mu);
    s.durable_commits(true);
    if (purged != nullptr) *purged = 0;
    if (const int rc = s.run(s.delete_batches_all); rc != SQLITE_OK) return s.fail(rc, "purge batches");
    if (purged != nullptr) *purged = static_cast<std::size_t>(sqlite3_changes(s.db));
    s.bytes = 0;
    s.count = 0;
    s.leased.clear();
    s.wrote();
    return {};
}

bool Spool::writable() {
    Impl& s = *impl_;
    std::lock_guard lock(s.mu);
    if (s.write_failed) {
        // The last write failed (disk full, I/O error): only a real write tells whether the
        // database accepts writes again. Rewriting the schema version is one small page.
        const std::string sql = "PRAGMA user_version=" + std::to_string(kSchemaVersion);
        if (exec_sql(s.db, sql.c_str()) != SQLITE_OK) return false;
        s.wrote();
        return true;
    }
    // Takes the write lock and lets it go: the file is writable and not locked by another writer.
    if (s.begin_write() != SQLITE_OK) return false;
    s.rollback_if_open();
    return true;
}

std::error_code Spool::room() {
    Impl& s = *impl_;
    std::lock_guard lock(s.mu);
    s.refresh_if_changed();
    if (s.bytes >= s.max_bytes) return make_error_code(SpoolErrc::full);
    return s.fits(0, 1, 0);  // one small batch: a page
}

std::error_code Spool::append_dead_letters(const std::vector<DeadLetter>& letters) {
    Impl& s = *impl_;
    std::lock_guard lock(s.mu);
    s.durable_commits(true);
    if (letters.empty()) return {};
    if (const int rc = s.begin_write(); rc != SQLITE_OK) return s.fail(rc, "append dead letters: begin");
    for (const auto& d : letters) {
        StatementReset reset(s.insert_dead);
        s.insert_dead.bind_text(1, d.write_key);
        s.insert_dead.bind_int64(2, d.events);
        s.insert_dead.bind_int64(3, d.status);
        s.insert_dead.bind_text(4, d.reason);
        s.insert_dead.bind_int64(5, d.created_ms);
        s.insert_dead.bind_int64(6, d.dead_ms);
        s.insert_dead.bind_int64(7, d.attempts);
        s.insert_dead.bind_blob(8, d.body);
        if (const int rc = s.insert_dead.step(); rc != SQLITE_DONE) {
            auto ec = s.fail(rc, "append dead letters: insert");
            s.rollback_if_open();
            return ec;
        }
    }
    if (const int rc = s.commit_write(); rc != SQLITE_OK) return s.fail(rc, "append dead letters: commit");
    s.wrote();
    return {};
}

std::uint64_t Spool::bytes_used() {
    std::lock_guard lock(impl_->mu);
    impl_->refresh_if_changed();
    return impl_->bytes;
}

std::uint64_t Spool::max_bytes() const {
    return impl_->max_bytes;
}

std::size_t Spool::leased_count() {
    std::lock_guard lock(impl_->mu);
    return impl_->leased.size();
}

const std::string& Spool::path() const {
    return impl_->path;
}

std::string Spool::last_error() {
    std::lock_guard lock(impl_->mu);
    return impl_->last_error;
}

}  // namespace lsr::server
