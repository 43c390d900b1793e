// SyncStore's baselines: finding one, listing them, and their upkeep (reset, forget, totals).
#include <sqlite3.h>

#include "server/storage/spool_impl.hpp"
#include "server/storage/sync_store.hpp"

namespace lsr::server {

namespace {

std::uint64_t as_uint(std::int64_t v) {
    return static_cast<std::uint64_t>(v);
}

int run_to_end(SqliteStatement& q) {
    int rc = q.step();
    while (rc == SQLITE_ROW) rc = q.step();
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

// Columns of LSR_BASELINE_COLUMNS (sync_statements.cpp).
BaselineInfo read_baseline(const SqliteStatement& q) {
    BaselineInfo b;
    b.id = q.column_int64(0);
    b.key.instance = q.column_string(1);
    b.key.plan_id = q.column_string(2);
    b.key.action = q.column_string(3);
    b.key.write_key = q.column_string(4);
    b.title = q.column_string(5);
    b.mode = q.column_string(6);
    b.generation = q.column_int64(7);
    b.members = as_uint(q.column_int64(8));
    b.bytes = as_uint(q.column_int64(9));
    b.created_ms = q.column_int64(10);
    b.last_run_ms = q.column_int64(11);
    return b;
}

// Deletes baseline `id` and its rows (in the caller's transaction). *found: it existed.
int delete_baseline(SyncStatements& q, sqlite3* db, std::int64_t id, bool* found) {
    for (SqliteStatement* rows : {&q.delete_baseline_rows, &q.delete_baseline_identities}) {
        StatementReset reset(*rows);
        rows->bind_int64(1, id);
        if (const int rc = run_to_end(*rows); rc != SQLITE_OK) return rc;
    }
    StatementReset reset(q.delete_baseline);
    q.delete_baseline.bind_int64(1, id);
    if (const int rc = run_to_end(q.delete_baseline); rc != SQLITE_OK) return rc;
    *found = sqlite3_changes(db) != 0;
    return SQLITE_OK;
}

}  // namespace

SpoolError SyncStore::find_baseline(const BaselineKey& key, std::optional<BaselineInfo>* out) {
    Spool::Impl& s = *spool_.impl_;
    std::lock_guard lock(s.mu);
    out->reset();
    SqliteStatement& q = s.sql.sync.find_baseline;
    StatementReset reset(q);
    q.bind_text(1, key.instance);
    q.bind_text(2, key.plan_id);
    q.bind_text(3, key.action);
    q.bind_text(4, key.write_key);
    const int rc = q.step();
    if (rc == SQLITE_ROW) {
        *out = read_baseline(q);
        return {};
    }
    if (rc == SQLITE_DONE) return {};
    return s.fail(rc, "find_baseline");
}

std::vector<BaselineInfo> SyncStore::list_baselines() {
    Spool::Impl& s = *spool_.impl_;
    std::lock_guard lock(s.mu);
    std::vector<BaselineInfo> out;
    SqliteStatement& q = s.sql.sync.list_baselines;
    StatementReset reset(q);
    while (q.step() == SQLITE_ROW) out.push_back(read_baseline(q));
    return out;
}

std::optional<BaselineInfo> SyncStore::baseline(std::int64_t id) {
    Spool::Impl& s = *spool_.impl_;
    std::lock_guard lock(s.mu);
    SqliteStatement& q = s.sql.sync.baseline_by_id;
    StatementReset reset(q);
    q.bind_int64(1, id);
    if (q.step() != SQLITE_ROW) return std::nullopt;
    return read_baseline(q);
}

SpoolError SyncStore::reset_baseline(std::int64_t id, bool* found) {
    Spool::Impl& s = *spool_.impl_;
    std::lock_guard lock(s.mu);
    s.durable_commits(true);
    bool existed = false;
    if (found != nullptr) *found = false;
    if (const int rc = s.begin_write(); rc != SQLITE_OK) return s.fail(rc, "reset_baseline: begin");
    // The rows go; the baseline stays, one generation on: the schedule's next run is a first
    // run, with messageIds no earlier run used (Segment would drop repeats as duplicates), and
    // a run in progress that read the old rows cannot commit (conflict).
    SyncStatements& q = s.sql.sync;
    for (SqliteStatement* st : {&q.delete_baseline_rows, &q.delete_baseline_identities, &q.reset_baseline}) {
        StatementReset reset(*st);
        st->bind_int64(1, id);
        if (const int rc = run_to_end(*st); rc != SQLITE_OK) {
            auto error = s.fail(rc, "reset_baseline: delete");
            s.rollback_if_open();
            return error;
        }
    }
    existed = sqlite3_changes(s.db) != 0;
    if (auto error = s.commit_write("reset_baseline: commit")) return error;
    s.wrote();
    if (found != nullptr) *found = existed;
    return {};
}

SpoolError SyncStore::forget_baselines(std::int64_t older_than_ms, std::size_t* dropped) {
    Spool::Impl& s = *spool_.impl_;
    SyncStatements& q = s.sql.sync;
    std::lock_guard lock(s.mu);
    s.durable_commits(true);
    if (dropped != nullptr) *dropped = 0;
    if (const int rc = s.begin_write(); rc != SQLITE_OK) return s.fail(rc, "forget_baselines: begin");
    const auto abort = [&](SpoolError error) {
        s.rollback_if_open();
        return error;
    };
    std::vector<std::int64_t> ids;
    {
        StatementReset reset(q.old_baselines);
        q.old_baselines.bind_int64(1, older_than_ms);
        int rc = SQLITE_ROW;
        while ((rc = q.old_baselines.step()) == SQLITE_ROW) ids.push_back(q.old_baselines.column_int64(0));
        if (rc != SQLITE_DONE) return abort(s.fail(rc, "forget_baselines: select"));
    }
    for (const std::int64_t id : ids) {
        bool existed = false;
        if (const int rc = delete_baseline(q, s.db, id, &existed); rc != SQLITE_OK)
            return abort(s.fail(rc, "forget_baselines: delete"));
    }
    if (auto error = s.commit_write("forget_baselines: commit")) return error;
    s.wrote();
    if (dropped != nullptr) *dropped = ids.size();
    return {};
}

SyncTotals SyncStore::totals() {
    Spool::Impl& s = *spool_.impl_;
    std::lock_guard lock(s.mu);
    SyncTotals t;
    SqliteStatement& q = s.sql.sync.totals;
    StatementReset reset(q);
    if (q.step() == SQLITE_ROW) {
        t.baselines = as_uint(q.column_int64(0));
        t.rows = as_uint(q.column_int64(1));
        t.bytes = as_uint(q.column_int64(2));
    }
    return t;
}

}  // namespace lsr::server
