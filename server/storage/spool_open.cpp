// Spool::open: the lock, the file checks, the connection, the schema and the statements, in
// that order; any failure is an operator-facing text naming the file and the way out.
#include <sqlite3.h>
#include <sys/stat.h>

#include <filesystem>

#include "server/storage/spool.hpp"
#include "server/storage/spool_file.hpp"
#include "server/storage/spool_impl.hpp"
#include "server/storage/spool_lock.hpp"
#include "server/storage/spool_schema.hpp"

namespace lsr::server {

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
    const core::Clock& clock = options.clock != nullptr ? *options.clock : core::Clock::system();
    auto failed = [&](SpoolOpenFailure failure) -> std::unique_ptr<Spool> {
        ec = make_error_code(failure.errc);
        message = std::move(failure.message);
        return nullptr;
    };
    if (path.empty()) return failed({SpoolErrc::io, "spool.path is empty"});

    // Parent directories, owner-only when we create them.
    if (options.create) {
        if (auto failure = SpoolFile::create_parent(path)) return failed(std::move(*failure));
    }

    // The lock before anything else touches the database: a relay never even reads a spool
    // another relay serves. A spool that must not be created and is missing is reported as
    // such first (no lock file is created beside a path that holds no spool).
    std::unique_ptr<SpoolLock> lock;
    if (options.exclusive) {
        std::error_code fec;
        if (!options.create && !std::filesystem::exists(std::filesystem::status(path, fec))) {
            return failed({SpoolErrc::not_found, "no spool at " + path + " (file does not exist)"});
        }
        SpoolOpenFailure refused;
        lock = SpoolLock::acquire(path, path + ".lock", &refused.errc, &refused.message);
        if (!lock) return failed(std::move(refused));
    }

    bool is_new = false;
    if (auto failure = SpoolFile::precheck(path, options.create, clock.unix_ms(), &is_new)) {
        return failed(std::move(*failure));
    }

    auto impl = std::make_unique<Impl>(clock);
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
            std::string detail = sqlite3_errstr(rc);
            if (impl->db != nullptr && detail != sqlite3_errmsg(impl->db))
                detail += " (" + std::string(sqlite3_errmsg(impl->db)) + ")";
            return failed({SpoolErrc::io, "cannot open spool " + path + ": " + detail});
        }
    }
    if (auto failure = SpoolFile::restrict_permissions(path)) return failed(std::move(*failure));
    sqlite3* db = impl->db;
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, Impl::kBusyTimeoutMs);

    // Any error from here on names the file; corruption gets the way out.
    SpoolSchema schema(db, path, clock.unix_ms());
    if (auto failure = schema.configure(cfg, is_new)) return failed(std::move(*failure));
    impl->page_size = schema.page_size();
    impl->wal_reserve = schema.wal_reserve();
    impl->space.emplace(path, cfg.max_bytes, cfg.min_free_bytes);
    if (auto failure = SpoolFile::restrict_permissions(path)) return failed(std::move(*failure));
    if (auto failure = schema.create_or_check()) return failed(std::move(*failure));
    // Only the open that took the lock: another Spool of this process that shares it may
    // have a sync run under way.
    if (impl->lock != nullptr && impl->lock->first()) {
        if (auto failure = schema.drop_unfinished_runs()) return failed(std::move(*failure));
    }
    if (auto failure = schema.prepare(impl->sql)) return failed(std::move(*failure));

    // The running byte and batch counts, after the held batches of unfinished runs are gone.
    if (const int rc = impl->reload_bytes(); rc != SQLITE_OK) {
        return failed(schema.sqlite_failed(rc, "cannot read the spool"));
    }
    {
        StatementReset reset(impl->sql.data_version);
        if (impl->sql.data_version.step() == SQLITE_ROW)
            impl->data_version = impl->sql.data_version.column_int64(0);
    }
    return std::unique_ptr<Spool>(new Spool(std::move(impl)));
}

}  // namespace lsr::server
