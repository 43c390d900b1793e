// The hot path: appends (intake), leases and settles (delivery), and the cheap checks the
// relay asks on its way (room, writable, figures).
#include "server/storage/spool.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <limits>
#include <utility>

#include "server/storage/read_transaction.hpp"
#include "server/storage/spool_impl.hpp"

namespace lsr::server {

SpoolError Spool::append(const std::vector<NewBatch>& batches, std::vector<std::int64_t>* ids) {
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
    const std::int64_t now = s.now_ms();
    std::vector<std::int64_t> new_ids;
    new_ids.reserve(batches.size());
    for (const auto& b : batches) {
        StatementReset reset(s.sql.insert_batch);
        s.sql.insert_batch.bind_text(1, b.write_key);
        s.sql.insert_batch.bind_int64(2, b.events);
        s.sql.insert_batch.bind_int64(3, static_cast<std::int64_t>(b.body.size()));
        s.sql.insert_batch.bind_text(4, b.request_id);
        s.sql.insert_batch.bind_int64(5, b.created_ms);
        s.sql.insert_batch.bind_int64(6, b.held ? kHeldUntilMs : now);
        s.sql.insert_batch.bind_blob(7, b.body);
        if (const int rc = s.sql.insert_batch.step(); rc != SQLITE_DONE) {
            auto error = s.fail(rc, "append: insert");
            s.rollback_if_open();
            return error;
        }
        new_ids.push_back(sqlite3_last_insert_rowid(s.db));
    }
    if (auto error = s.commit_write("append: commit")) return error;
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
    s.release_expired_holds();
    if (limit == 0) return out;
    // One read transaction for the choice and every row read: one WAL snapshot (two lock
    // calls) instead of one per statement. Without it the statements still run, each in its
    // own implicit transaction.
    ReadTransaction read(s);
    std::vector<std::int64_t> chosen;
    {
        StatementReset reset(s.sql.select_due);
        s.sql.select_due.bind_text(1, write_key);
        // A held batch (a sync run's, not yet committed) is never due, whatever the horizon
        // (a recovering key leases with an unbounded one).
        s.sql.select_due.bind_int64(2, std::min(now_ms, kHeldUntilMs - 1));
        while (chosen.size() < limit && s.sql.select_due.step() == SQLITE_ROW) {
            const std::int64_t id = s.sql.select_due.column_int64(0);
            if (!s.leased.contains(id)) chosen.push_back(id);
        }
    }
    out.reserve(chosen.size());
    SqliteStatement& q = s.sql.select_batch;
    for (const std::int64_t id : chosen) {
        StatementReset reset(q);
        q.bind_int64(1, id);
        if (q.step() != SQLITE_ROW) continue;
        SpoolBatch b;
        b.id = q.column_int64(0);
        b.write_key = q.column_string(1);
        b.events = static_cast<std::uint32_t>(q.column_int64(2));
        b.request_id = q.column_string(3);
        b.created_ms = q.column_int64(4);
        b.attempts = static_cast<std::uint32_t>(q.column_int64(5));
        b.next_attempt_ms = q.column_int64(6);
        b.last_error = q.column_string(7);
        b.body = q.column_string(8);
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
        StatementReset reset(s.sql.distinct_keys);
        while (s.sql.distinct_keys.step() == SQLITE_ROW) {
            out.emplace_back(s.sql.distinct_keys.column_string(0), std::numeric_limits<std::int64_t>::max());
        }
    }
    for (auto& [key, earliest] : out) {
        StatementReset reset(s.sql.key_schedule);
        s.sql.key_schedule.bind_text(1, key);
        while (s.sql.key_schedule.step() == SQLITE_ROW) {
            if (!s.leased.contains(s.sql.key_schedule.column_int64(0))) {
                earliest = s.sql.key_schedule.column_int64(1);
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
    SpoolError failed(SpoolError error) {
        failed_ = true;
        return error;
    }

  private:
    Spool::Impl& s_;
    std::int64_t id_;
    bool failed_ = false;
};

}  // namespace

SpoolError Spool::mark_delivered(const std::vector<std::int64_t>& ids, std::vector<bool>* found) {
    Impl& s = *impl_;
    std::lock_guard lock(s.mu);
    s.durable_commits(false);
    found->assign(ids.size(), false);
    for (const std::int64_t id : ids) {
        s.leased.erase(id);
        s.held_until_ms.erase(id);
    }
    const auto failed = [&](SpoolError error) {
        for (const std::int64_t id : ids) s.hold(id);
        found->assign(ids.size(), false);
        return error;
    };
    if (ids.empty()) return {};
    if (const int rc = s.begin_write(); rc != SQLITE_OK) return failed(s.fail(rc, "mark_delivered: begin"));
    std::uint64_t removed_total = 0;
    std::uint64_t removed_count = 0;
    for (std::size_t i = 0; i < ids.size(); ++i) {
        std::uint64_t removed = 0;
        const int rc = s.delete_one(ids[i], &removed);
        if (rc == SQLITE_NOTFOUND) continue;
        if (rc != SQLITE_OK) {
            auto error = s.fail(rc, "mark_delivered");
            s.rollback_if_open();
            return failed(std::move(error));
        }
        (*found)[i] = true;
        removed_total += removed;
        ++removed_count;
    }
    if (auto error = s.commit_write("mark_delivered: commit")) return failed(std::move(error));
    s.sub_bytes(removed_total, removed_count);
    s.wrote();
    return {};
}

SpoolError Spool::mark_delivered(std::int64_t id) {
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

SpoolError Spool::reschedule(std::int64_t id, std::int64_t next_attempt_ms, std::string_view error) {
    Impl& s = *impl_;
    std::lock_guard lock(s.mu);
    s.durable_commits(false);
    SettleHold settle(s, id);
    StatementReset reset(s.sql.reschedule);
    s.sql.reschedule.bind_int64(1, id);
    s.sql.reschedule.bind_int64(2, next_attempt_ms);
    s.sql.reschedule.bind_text(3, SpoolSpace::clip_error(error));
    if (const int rc = s.sql.reschedule.step(); rc != SQLITE_DONE)
        return settle.failed(s.fail(rc, "reschedule"));
    if (sqlite3_changes(s.db) == 0) return make_error_code(SpoolErrc::not_found);
    s.wrote();
    return {};
}

SpoolError Spool::split(std::int64_t id, const std::string& first_body, std::uint32_t first_events,
                        const std::string& second_body, std::uint32_t second_events, std::int64_t* first_id,
                        std::int64_t* second_id) {
    Impl& s = *impl_;
    std::lock_guard lock(s.mu);
    s.durable_commits(false);
    SettleHold settle(s, id);
    if (const int rc = s.begin_write(); rc != SQLITE_OK) return settle.failed(s.fail(rc, "split: begin"));
    const std::int64_t now = s.now_ms();
    std::int64_t new_ids[2] = {0, 0};
    const std::string* bodies[2] = {&first_body, &second_body};
    const std::uint32_t events[2] = {first_events, second_events};
    for (int i = 0; i < 2; ++i) {
        StatementReset reset(s.sql.split_insert);
        s.sql.split_insert.bind_int64(1, id);
        s.sql.split_insert.bind_int64(2, events[i]);
        s.sql.split_insert.bind_int64(3, static_cast<std::int64_t>(bodies[i]->size()));
        s.sql.split_insert.bind_int64(4, now);
        s.sql.split_insert.bind_blob(5, *bodies[i]);
        if (const int rc = s.sql.split_insert.step(); rc != SQLITE_DONE) {
            auto error = settle.failed(s.fail(rc, "split: insert"));
            s.rollback_if_open();
            return error;
        }
        if (sqlite3_changes(s.db) == 0) {
            s.rollback_if_open();
            return make_error_code(SpoolErrc::not_found);
        }
        new_ids[i] = sqlite3_last_insert_rowid(s.db);
    }
    std::uint64_t removed = 0;
    if (const int rc = s.delete_one(id, &removed); rc != SQLITE_OK) {
        auto error = rc == SQLITE_NOTFOUND ? SpoolError(make_error_code(SpoolErrc::not_found))
                                           : settle.failed(s.fail(rc, "split: delete"));
        s.rollback_if_open();
        return error;
    }
    if (auto error = s.commit_write("split: commit")) return settle.failed(std::move(error));
    s.sub_bytes(removed);
    s.bytes += first_body.size() + second_body.size();
    s.count += 2;
    s.wrote();
    if (first_id != nullptr) *first_id = new_ids[0];
    if (second_id != nullptr) *second_id = new_ids[1];
    return {};
}

SpoolError Spool::dead_letter(std::int64_t id, int status, std::string_view reason) {
    Impl& s = *impl_;
    std::lock_guard lock(s.mu);
    s.durable_commits(false);
    SettleHold settle(s, id);
    if (const int rc = s.begin_write(); rc != SQLITE_OK)
        return settle.failed(s.fail(rc, "dead_letter: begin"));
    {
        StatementReset reset(s.sql.dead_insert);
        s.sql.dead_insert.bind_int64(1, id);
        s.sql.dead_insert.bind_int64(2, status);
        s.sql.dead_insert.bind_text(3, reason);
        s.sql.dead_insert.bind_int64(4, s.now_ms());
        if (const int rc = s.sql.dead_insert.step(); rc != SQLITE_DONE) {
            auto error = settle.failed(s.fail(rc, "dead_letter: insert"));
            s.rollback_if_open();
            return error;
        }
        if (sqlite3_changes(s.db) == 0) {
            s.rollback_if_open();
            return make_error_code(SpoolErrc::not_found);
        }
    }
    std::uint64_t removed = 0;
    if (const int rc = s.delete_one(id, &removed); rc != SQLITE_OK) {
        auto error = rc == SQLITE_NOTFOUND ? SpoolError(make_error_code(SpoolErrc::not_found))
                                           : settle.failed(s.fail(rc, "dead_letter: delete"));
        s.rollback_if_open();
        return error;
    }
    if (auto error = s.commit_write("dead_letter: commit")) return settle.failed(std::move(error));
    s.sub_bytes(removed);
    s.wrote();
    return {};
}

void Spool::release_all_leases() {
    std::lock_guard lock(impl_->mu);
    impl_->leased.clear();
    impl_->held_until_ms.clear();
}

bool Spool::writable() {
    Impl& s = *impl_;
    std::lock_guard lock(s.mu);
    if (s.write_failed) {
        // The last write failed (disk full, I/O error): only a real write tells whether the
        // database accepts writes again. Rewriting the schema version is one small page.
        s.checkpoint_after_failure();
        const std::string pragma = "PRAGMA user_version=" + std::to_string(kSchemaVersion);
        if (s.exec(pragma.c_str()) != SQLITE_OK) return false;
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

}  // namespace lsr::server
