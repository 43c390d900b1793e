#include "server/storage/spool_impl.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <filesystem>

namespace lsr::server {

namespace {

bool is_corruption(int rc) {
    const int primary = rc & 0xff;
    return primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB;
}

}  // namespace

SqliteConnection::~SqliteConnection() {
    if (db != nullptr) sqlite3_close_v2(db);
}

void Spool::Impl::hold(std::int64_t id) {
    leased.insert(id);
    held_until_ms[id] = now_ms() + kSettleRetryHoldMs;
}

void Spool::Impl::release_expired_holds() {
    const std::int64_t now = now_ms();
    for (auto it = held_until_ms.begin(); it != held_until_ms.end();) {
        if (it->second <= now) {
            leased.erase(it->first);
            it = held_until_ms.erase(it);
        } else {
            ++it;
        }
    }
}

SpoolError Spool::Impl::fail(int rc, const char* what) {
    std::string message;
    if (db != nullptr && sqlite3_errcode(db) != SQLITE_OK) message = sqlite3_errmsg(db);
    const int primary = rc & 0xff;
    if (primary == SQLITE_FULL || primary == SQLITE_IOERR || primary == SQLITE_READONLY ||
        primary == SQLITE_CANTOPEN || is_corruption(rc)) {
        write_failed = true;
    }
    const SpoolErrc errc = is_corruption(rc) ? SpoolErrc::corrupt : SpoolErrc::io;
    return SpoolError(make_error_code(errc), what, rc, std::move(message));
}

int Spool::Impl::exec(const char* text) {
    return sqlite3_exec(db, text, nullptr, nullptr, nullptr);
}

int Spool::Impl::run(SqliteStatement& s) {
    StatementReset reset(s);
    int rc = s.step();
    while (rc == SQLITE_ROW) rc = s.step();
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

SpoolError Spool::Impl::commit_write(const char* what) {
    const int rc = run(sql.commit);
    if (rc == SQLITE_OK) return {};
    SpoolError error = fail(rc, what);
    rollback_if_open();
    return error;
}

void Spool::Impl::rollback_if_open() {
    if (sqlite3_get_autocommit(db) == 0) run(sql.rollback);
}

// Settling a batch (delivered, rescheduled, split, dead-lettered) commits with NORMAL: in
// WAL mode that survives a crash of the process, and the next FULL commit syncs it too; only
// a power loss in between can undo it, and then the batch is simply sent again (Segment
// deduplicates by messageId) - never lost. Half the fsyncs.
void Spool::Impl::durable_commits(bool full) {
    checkpoint_after_failure();
    full = full && sync_full;
    if (full == sync_full_now) return;
    if (run(full ? sql.sync_full : sql.sync_normal) == SQLITE_OK) sync_full_now = full;
}

void Spool::Impl::refresh_if_changed() {
    std::int64_t version = -1;
    {
        StatementReset reset(sql.data_version);
        if (sql.data_version.step() == SQLITE_ROW) version = sql.data_version.column_int64(0);
    }
    if (version == data_version) return;
    data_version = version;
    reload_bytes();
}

int Spool::Impl::reload_bytes() {
    StatementReset reset(sql.sum_bytes);
    const int rc = sql.sum_bytes.step();
    if (rc != SQLITE_ROW) return rc;
    bytes = static_cast<std::uint64_t>(sql.sum_bytes.column_int64(0));
    largest_batch = static_cast<std::uint64_t>(sql.sum_bytes.column_int64(1));
    count = static_cast<std::uint64_t>(sql.sum_bytes.column_int64(2));
    return SQLITE_OK;
}

void Spool::Impl::wrote() {
    write_failed = false;
    trim_wal();
}

int Spool::Impl::delete_one(std::int64_t id, std::uint64_t* removed_bytes) {
    StatementReset reset(sql.delete_batch);
    sql.delete_batch.bind_int64(1, id);
    int rc = sql.delete_batch.step();
    if (rc == SQLITE_DONE) return SQLITE_NOTFOUND;
    if (rc != SQLITE_ROW) return rc;
    *removed_bytes = static_cast<std::uint64_t>(sql.delete_batch.column_int64(0));
    rc = sql.delete_batch.step();
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

void Spool::Impl::sub_bytes(std::uint64_t n, std::uint64_t batches) {
    bytes = n > bytes ? 0 : bytes - n;
    count = batches > count ? 0 : count - batches;
}

SpoolFootprint Spool::Impl::footprint() {
    SpoolFootprint f;
    f.page_size = page_size;
    std::error_code fec;
    const auto db_size = std::filesystem::file_size(path, fec);
    if (!fec) f.db_file = db_size;
    const auto wal_size = std::filesystem::file_size(path + "-wal", fec);
    if (!fec) f.wal_file = wal_size;
    {
        StatementReset reset(sql.freelist);
        if (sql.freelist.step() == SQLITE_ROW)
            f.free_bytes = static_cast<std::uint64_t>(sql.freelist.column_int64(0)) * page_size;
    }
    f.batches = count;
    return f;
}

std::error_code Spool::Impl::fits(std::uint64_t added, std::size_t n, std::uint64_t largest_new) {
    if (bytes + added > max_bytes || added > max_bytes) return make_error_code(SpoolErrc::full);
    trim_wal();
    SpoolFootprint f = footprint();
    f.largest_batch = std::max(largest_batch, largest_new);
    return space->check(f, added, n);
}

void Spool::Impl::checkpoint_after_failure() {
    if (!write_failed || sqlite3_get_autocommit(db) == 0) return;
    sqlite3_busy_timeout(db, 0);
    sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
    sqlite3_busy_timeout(db, kBusyTimeoutMs);
}

// The WAL grew past its reserve (a large transaction, or settles since the last append):
// checkpoint it and truncate the file, unless a reader (an operator tool) is in the way -
// then the autocheckpoint does it later. Never waits.
void Spool::Impl::trim_wal() {
    std::error_code fec;
    const auto wal_size = std::filesystem::file_size(path + "-wal", fec);
    if (fec || wal_size <= wal_reserve) return;
    sqlite3_busy_timeout(db, 0);
    sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
    sqlite3_busy_timeout(db, kBusyTimeoutMs);
}

}  // namespace lsr::server
