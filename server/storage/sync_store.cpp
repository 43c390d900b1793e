// SyncStore's run cycle: a baseline's members read back, the stage, the commit and the abort
// (the baselines' listing and upkeep: sync_store_baselines.cpp; the run history:
// sync_store_runs.cpp). Every call works on the spool's connection under its mutex.
#include "server/storage/sync_store.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <limits>
#include <numeric>
#include <utility>

#include "server/storage/read_transaction.hpp"
#include "server/storage/spool_impl.hpp"

namespace lsr::server {

static_assert(Spool::kHeldUntilMs == std::numeric_limits<std::int64_t>::max(),
              "sync_statements.cpp writes the held batches' next attempt as a literal");

namespace {

// Staged rows are kept and applied by bucket: the top kBucketBits bits of the id hash, read as
// a signed number (so a bucket is one contiguous range of sync_rows' key, in the same order).
// 32 buckets: a 1,000,000-row first run applies ranges of ~31,000 rows (~2 MB of pages) at a
// time, which the connection's cache holds, and staging appends at 32 points of the tree.
constexpr int kBucketBits = 5;
constexpr std::int64_t kFirstBucket = -(std::int64_t{1} << (kBucketBits - 1));
constexpr std::int64_t kLastBucket = (std::int64_t{1} << (kBucketBits - 1)) - 1;
// A member's bytes besides its identity text, in BaselineInfo::bytes: its two hashes.
constexpr std::uint64_t kMemberBytes = 16;
// load_members and identities read this many rows per hold of the mutex, so a large
// baseline never keeps delivery waiting for long.
constexpr std::int64_t kLoadChunk = 65'536;
constexpr std::size_t kIdentityChunk = 4'096;

std::int64_t as_int(std::uint64_t v) {
    return static_cast<std::int64_t>(v);  // the same bits
}
std::uint64_t as_uint(std::int64_t v) {
    return static_cast<std::uint64_t>(v);
}
std::int64_t bucket_of(std::uint64_t id_hash) {
    return as_int(id_hash) >> (64 - kBucketBits);
}
int change_code(StagedChange c) {
    switch (c) {
        case StagedChange::added:
            return 0;
        case StagedChange::changed:
            return 1;
        case StagedChange::removed:
            return 2;
    }
    return 0;
}

// Runs `q` (bound by the caller) to its end; SQLITE_OK or the error.
int run_to_end(SqliteStatement& q) {
    int rc = q.step();
    while (rc == SQLITE_ROW) rc = q.step();
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

}  // namespace

SyncStore::SyncStore(Spool& spool) : spool_(spool) {}

SpoolError SyncStore::load_members(
    std::int64_t baseline_id,
    const std::function<void(std::uint64_t id_hash, std::uint64_t content_hash)>& each) {
    Spool::Impl& s = *spool_.impl_;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> chunk;
    chunk.reserve(static_cast<std::size_t>(kLoadChunk));
    std::int64_t from = std::numeric_limits<std::int64_t>::min();
    for (;;) {
        chunk.clear();
        std::int64_t last = from;
        {
            std::lock_guard lock(s.mu);
            SqliteStatement& q = s.sql.sync.load_members;
            StatementReset reset(q);
            q.bind_int64(1, baseline_id);
            q.bind_int64(2, from);
            q.bind_int64(3, kLoadChunk);
            int rc = SQLITE_ROW;
            while ((rc = q.step()) == SQLITE_ROW) {
                last = q.column_int64(0);
                chunk.emplace_back(as_uint(last), as_uint(q.column_int64(1)));
            }
            if (rc != SQLITE_DONE) return s.fail(rc, "load_members");
        }
        for (const auto& [id_hash, content_hash] : chunk) each(id_hash, content_hash);
        if (chunk.size() < static_cast<std::size_t>(kLoadChunk) ||
            last == std::numeric_limits<std::int64_t>::max())
            return {};
        from = last + 1;
    }
}

SpoolError SyncStore::identities(std::int64_t baseline_id, const std::vector<std::uint64_t>& id_hashes,
                                 std::vector<std::string>* out) {
    Spool::Impl& s = *spool_.impl_;
    out->assign(id_hashes.size(), std::string());
    for (std::size_t first = 0; first < id_hashes.size(); first += kIdentityChunk) {
        std::lock_guard lock(s.mu);
        ReadTransaction read(s);
        SqliteStatement& q = s.sql.sync.identity;
        const std::size_t end = std::min(id_hashes.size(), first + kIdentityChunk);
        for (std::size_t i = first; i < end; ++i) {
            StatementReset reset(q);
            q.bind_int64(1, baseline_id);
            q.bind_int64(2, as_int(id_hashes[i]));
            const int rc = q.step();
            if (rc == SQLITE_ROW) {
                (*out)[i] = q.column_string(0);
            } else if (rc != SQLITE_DONE) {
                out->assign(id_hashes.size(), std::string());
                return s.fail(rc, "identities");
            }
        }
    }
    return {};
}

SpoolError SyncStore::stage(std::int64_t run_id, const std::vector<StagedRow>& rows) {
    Spool::Impl& s = *spool_.impl_;
    // Bucket by bucket: each bucket's rows go to the end of its range of the stage.
    std::vector<std::uint32_t> order(rows.size());
    std::iota(order.begin(), order.end(), 0u);
    std::stable_sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) {
        return bucket_of(rows[a].id_hash) < bucket_of(rows[b].id_hash);
    });
    std::lock_guard lock(s.mu);
    // Staged rows are worth nothing after a crash (the next exclusive open drops them): the
    // commit of commit_run is the durable one.
    s.durable_commits(false);
    if (rows.empty()) return {};
    if (const int rc = s.begin_write(); rc != SQLITE_OK) return s.fail(rc, "stage: begin");
    SqliteStatement& q = s.sql.sync.stage_insert;
    for (const std::uint32_t i : order) {
        const StagedRow& row = rows[i];
        const bool removed = row.change == StagedChange::removed;
        StatementReset reset(q);
        q.bind_int64(1, run_id);
        q.bind_int64(2, bucket_of(row.id_hash));
        q.bind_int64(3, ++s.stage_seq);
        q.bind_int64(4, as_int(row.id_hash));
        q.bind_int64(5, removed ? 0 : as_int(row.content_hash));
        q.bind_text(6, removed ? std::string_view() : std::string_view(row.identity));
        q.bind_int64(7, change_code(row.change));
        if (const int rc = q.step(); rc != SQLITE_DONE) {
            auto error = s.fail(rc, "stage: insert");
            s.rollback_if_open();
            return error;
        }
    }
    if (auto error = s.commit_write("stage: commit")) return error;
    s.wrote();
    return {};
}

namespace {

// What applying a run's stage did to its baseline.
struct Applied {
    std::uint64_t added = 0;  // rows that were not members
    std::uint64_t added_bytes = 0;
    std::uint64_t gone = 0;  // members removed
    std::uint64_t gone_bytes = 0;
};

// Applies bucket `bucket` of run `run_id`'s stage to baseline `id` (in the caller's
// transaction); SQLITE_OK, or the failed statement's code and *what.
int apply_bucket(SyncStatements& q, std::int64_t id, std::int64_t run_id, std::int64_t bucket, Applied* a,
                 const char** what) {
    const auto bind = [&](SqliteStatement& st) {
        st.bind_int64(1, id);
        st.bind_int64(2, run_id);
        st.bind_int64(3, bucket);
    };
    const auto count = [&](SqliteStatement& st, std::uint64_t* n, std::uint64_t* bytes) {
        StatementReset reset(st);
        bind(st);
        const int rc = st.step();
        if (rc != SQLITE_ROW) return rc;
        *n += as_uint(st.column_int64(0));
        *bytes += as_uint(st.column_int64(1));
        return SQLITE_OK;
    };
    *what = "commit_run: count";
    if (const int rc = count(q.count_new, &a->added, &a->added_bytes); rc != SQLITE_OK) return rc;
    if (const int rc = count(q.count_gone, &a->gone, &a->gone_bytes); rc != SQLITE_OK) return rc;
    const auto apply = [&](SqliteStatement& st) {
        StatementReset reset(st);
        bind(st);
        return run_to_end(st);
    };
    *what = "commit_run: apply";
    if (const int rc = apply(q.upsert_rows); rc != SQLITE_OK) return rc;
    if (const int rc = apply(q.upsert_identities); rc != SQLITE_OK) return rc;
    *what = "commit_run: remove";
    if (const int rc = apply(q.remove_rows); rc != SQLITE_OK) return rc;
    return apply(q.remove_identities);
}

}  // namespace

SpoolError SyncStore::commit_run(const RunCommit& commit, std::int64_t* baseline_id) {
    Spool::Impl& s = *spool_.impl_;
    SyncStatements& q = s.sql.sync;
    std::lock_guard lock(s.mu);
    s.durable_commits(true);  // what Looker is told is done, like an append
    if (const int rc = s.begin_write(); rc != SQLITE_OK) return s.fail(rc, "commit_run: begin");
    const auto abort = [&](SpoolError error) {
        s.rollback_if_open();
        return error;
    };
    const std::int64_t now = commit.now_ms;
    std::int64_t id = commit.baseline_id;
    std::uint64_t old_members = 0;
    std::uint64_t old_bytes = 0;
    if (id == 0) {
        StatementReset reset(q.insert_baseline);
        q.insert_baseline.bind_text(1, commit.key.instance);
        q.insert_baseline.bind_text(2, commit.key.plan_id);
        q.insert_baseline.bind_text(3, commit.key.action);
        q.insert_baseline.bind_text(4, commit.key.write_key);
        q.insert_baseline.bind_text(5, commit.title);
        q.insert_baseline.bind_text(6, commit.mode);
        q.insert_baseline.bind_int64(7, commit.generation);
        q.insert_baseline.bind_int64(8, now);
        if (const int rc = q.insert_baseline.step(); rc != SQLITE_DONE) {
            // Another run of the schedule created it meanwhile: this one compared against none.
            if ((rc & 0xff) == SQLITE_CONSTRAINT) return abort(make_error_code(SpoolErrc::conflict));
            return abort(s.fail(rc, "commit_run: create baseline"));
        }
        id = sqlite3_last_insert_rowid(s.db);
    } else {
        StatementReset reset(q.baseline_state);
        q.baseline_state.bind_int64(1, id);
        const int rc = q.baseline_state.step();
        if (rc == SQLITE_DONE) return abort(make_error_code(SpoolErrc::conflict));  // reset meanwhile
        if (rc != SQLITE_ROW) return abort(s.fail(rc, "commit_run: read baseline"));
        // Another generation than the one the run read: another run committed since.
        const std::int64_t read =
            commit.generation > commit.base_generation ? commit.generation - 1 : commit.generation;
        if (q.baseline_state.column_int64(0) != read) return abort(make_error_code(SpoolErrc::conflict));
        old_members = as_uint(q.baseline_state.column_int64(1));
        old_bytes = as_uint(q.baseline_state.column_int64(2));
    }

    Applied applied;
    for (std::int64_t bucket = kFirstBucket; bucket <= kLastBucket; ++bucket) {
        const char* what = "";
        if (const int rc = apply_bucket(q, id, commit.run_id, bucket, &applied, &what); rc != SQLITE_OK)
            return abort(s.fail(rc, what));
    }
    {
        StatementReset reset(q.delete_stage);
        q.delete_stage.bind_int64(1, commit.run_id);
        if (const int rc = run_to_end(q.delete_stage); rc != SQLITE_OK)
            return abort(s.fail(rc, "commit_run: delete stage"));
    }
    for (const std::int64_t batch : commit.release) {
        // A batch that is gone (purged) or not held is left as it is.
        StatementReset reset(q.release_batch);
        q.release_batch.bind_int64(1, batch);
        q.release_batch.bind_int64(2, now);
        if (const int rc = run_to_end(q.release_batch); rc != SQLITE_OK)
            return abort(s.fail(rc, "commit_run: release"));
    }
    // The members as the rows say (commit.members is what the caller counted: the same unless
    // a row was staged twice); bytes: each member's hashes and identity text.
    const std::uint64_t members =
        old_members + applied.added - std::min(old_members + applied.added, applied.gone);
    const std::uint64_t old_identity = old_bytes - std::min(old_bytes, old_members * kMemberBytes);
    const std::uint64_t identity_bytes =
        old_identity + applied.added_bytes - std::min(old_identity + applied.added_bytes, applied.gone_bytes);
    {
        StatementReset reset(q.update_baseline);
        q.update_baseline.bind_int64(1, id);
        q.update_baseline.bind_text(2, commit.title);
        q.update_baseline.bind_text(3, commit.mode);
        q.update_baseline.bind_int64(4, commit.generation);
        q.update_baseline.bind_int64(5, as_int(members));
        q.update_baseline.bind_int64(6, as_int(members * kMemberBytes + identity_bytes));
        q.update_baseline.bind_int64(7, now);
        if (const int rc = run_to_end(q.update_baseline); rc != SQLITE_OK)
            return abort(s.fail(rc, "commit_run: update baseline"));
    }
    if (auto error = s.commit_write("commit_run: commit")) return error;
    s.wrote();
    if (baseline_id != nullptr) *baseline_id = id;
    return {};
}

SpoolError SyncStore::abort_run(std::int64_t run_id, const std::vector<std::int64_t>& held_batches) {
    Spool::Impl& s = *spool_.impl_;
    SyncStatements& q = s.sql.sync;
    std::lock_guard lock(s.mu);
    s.durable_commits(false);  // lost in a crash, the next exclusive open does the same
    if (const int rc = s.begin_write(); rc != SQLITE_OK) return s.fail(rc, "abort_run: begin");
    const auto abort = [&](SpoolError error) {
        s.rollback_if_open();
        return error;
    };
    std::uint64_t removed_bytes = 0;
    std::uint64_t removed = 0;
    for (const std::int64_t batch : held_batches) {
        StatementReset reset(q.delete_held);
        q.delete_held.bind_int64(1, batch);
        int rc = q.delete_held.step();
        if (rc == SQLITE_DONE) continue;  // gone, or not held: left as it is
        if (rc == SQLITE_ROW) {
            removed_bytes += as_uint(q.delete_held.column_int64(0));
            ++removed;
            rc = q.delete_held.step();
        }
        if (rc != SQLITE_DONE) return abort(s.fail(rc, "abort_run: delete batch"));
    }
    {
        StatementReset reset(q.delete_stage);
        q.delete_stage.bind_int64(1, run_id);
        if (const int rc = run_to_end(q.delete_stage); rc != SQLITE_OK)
            return abort(s.fail(rc, "abort_run: delete stage"));
    }
    if (auto error = s.commit_write("abort_run: commit")) return error;
    s.sub_bytes(removed_bytes, removed);
    s.wrote();
    return {};
}

}  // namespace lsr::server
