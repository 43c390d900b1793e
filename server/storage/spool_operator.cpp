// The operator's functions, behind the `spool` subcommands: figures, the dead-letter
// listing, replay, purge, and the salvage tool's writes. Each is one transaction; see
// spool.hpp for what is safe while a relay runs.
#include <sqlite3.h>

#include <filesystem>
#include <limits>
#include <utility>

#include "core/delivery/stored_body.hpp"
#include "server/storage/spool.hpp"
#include "server/storage/spool_impl.hpp"

namespace lsr::server {

SpoolStats Spool::stats() {
    Impl& s = *impl_;
    std::lock_guard lock(s.mu);
    SpoolStats st;
    // Both counts from one snapshot.
    s.exec("BEGIN");
    {
        StatementReset reset(s.sql.stats_batches);
        if (s.sql.stats_batches.step() == SQLITE_ROW) {
            st.batches = static_cast<std::uint64_t>(s.sql.stats_batches.column_int64(0));
            st.events = static_cast<std::uint64_t>(s.sql.stats_batches.column_int64(1));
            st.bytes = static_cast<std::uint64_t>(s.sql.stats_batches.column_int64(2));
            st.oldest_created_ms = s.sql.stats_batches.column_int64(3);
        }
    }
    {
        StatementReset reset(s.sql.stats_dead);
        if (s.sql.stats_dead.step() == SQLITE_ROW) {
            st.dead_letters = static_cast<std::uint64_t>(s.sql.stats_dead.column_int64(0));
            st.dead_letter_events = static_cast<std::uint64_t>(s.sql.stats_dead.column_int64(1));
        }
    }
    s.rollback_if_open();
    s.bytes = st.bytes;  // the exact figures, in case another connection wrote
    s.count = st.batches;
    for (const char* suffix : {"", "-wal"}) {
        std::error_code fec;
        const auto size = std::filesystem::file_size(s.path + suffix, fec);
        if (!fec) st.file_bytes += size;
    }
    if (s.space) st.filesystem_free_bytes = s.space->free_space();
    return st;
}

std::optional<std::vector<std::pair<std::string, std::int64_t>>> Spool::oldest_by_write_key() {
    Impl& s = *impl_;
    std::lock_guard lock(s.mu);
    std::vector<std::pair<std::string, std::int64_t>> out;
    StatementReset reset(s.sql.key_oldest);
    int rc = SQLITE_ROW;
    while ((rc = s.sql.key_oldest.step()) == SQLITE_ROW) {
        out.emplace_back(s.sql.key_oldest.column_string(0), s.sql.key_oldest.column_int64(1));
    }
    if (rc != SQLITE_DONE) return std::nullopt;
    return out;
}

std::vector<DeadLetter> Spool::list_dead_letters(std::size_t limit, bool with_body) {
    Impl& s = *impl_;
    std::lock_guard lock(s.mu);
    std::vector<DeadLetter> out;
    SqliteStatement& q = with_body ? s.sql.list_dead_body : s.sql.list_dead;
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
        if (with_body) {
            const std::string stored = q.column_string(8);
            if (!core::StoredBody::decode(stored, d.body, d.body_error)) d.body.clear();
        }
        out.push_back(std::move(d));
    }
    return out;
}

SpoolError Spool::replay_dead_letters(const std::vector<std::int64_t>& ids, std::size_t* replayed) {
    Impl& s = *impl_;
    std::lock_guard lock(s.mu);
    s.durable_commits(true);
    if (replayed != nullptr) *replayed = 0;
    if (const int rc = s.begin_write(); rc != SQLITE_OK) return s.fail(rc, "replay: begin");
    const std::int64_t now = s.now_ms();
    std::size_t count = 0;
    auto abort = [&](SpoolError error) {
        s.rollback_if_open();
        return error;
    };
    if (ids.empty()) {
        {
            StatementReset reset(s.sql.replay_all);
            s.sql.replay_all.bind_int64(1, now);
            if (const int rc = s.sql.replay_all.step(); rc != SQLITE_DONE)
                return abort(s.fail(rc, "replay: insert"));
            count = static_cast<std::size_t>(sqlite3_changes(s.db));
        }
        if (const int rc = s.run(s.sql.delete_dead_all); rc != SQLITE_OK)
            return abort(s.fail(rc, "replay: delete"));
    } else {
        // All or nothing: an unknown id replays none of them.
        for (const std::int64_t id : ids) {
            {
                StatementReset reset(s.sql.replay_one);
                s.sql.replay_one.bind_int64(1, id);
                s.sql.replay_one.bind_int64(2, now);
                if (const int rc = s.sql.replay_one.step(); rc != SQLITE_DONE)
                    return abort(s.fail(rc, "replay: insert"));
                if (sqlite3_changes(s.db) == 0) return abort(make_error_code(SpoolErrc::not_found));
            }
            StatementReset reset(s.sql.delete_dead_one);
            s.sql.delete_dead_one.bind_int64(1, id);
            if (const int rc = s.sql.delete_dead_one.step(); rc != SQLITE_DONE)
                return abort(s.fail(rc, "replay: delete"));
            ++count;
        }
    }
    if (const int rc = s.reload_bytes(); rc != SQLITE_OK) return abort(s.fail(rc, "replay: sum"));
    if (auto error = s.commit_write("replay: commit")) {
        s.reload_bytes();
        return error;
    }
    s.wrote();
    if (replayed != nullptr) *replayed = count;
    return {};
}

SpoolError Spool::purge_dead_letters(std::size_t* purged) {
    Impl& s = *impl_;
    std::lock_guard lock(s.mu);
    s.durable_commits(true);
    if (purged != nullptr) *purged = 0;
    if (const int rc = s.run(s.sql.delete_dead_all); rc != SQLITE_OK) return s.fail(rc, "purge dead letters");
    if (purged != nullptr) *purged = static_cast<std::size_t>(sqlite3_changes(s.db));
    s.wrote();
    return {};
}

SpoolError Spool::purge_batches(std::size_t* purged) {
    Impl& s = *impl_;
    std::lock_guard lock(s.mu);
    s.durable_commits(true);
    if (purged != nullptr) *purged = 0;
    if (const int rc = s.run(s.sql.delete_batches_all); rc != SQLITE_OK) return s.fail(rc, "purge batches");
    if (purged != nullptr) *purged = static_cast<std::size_t>(sqlite3_changes(s.db));
    s.bytes = 0;
    s.count = 0;
    s.leased.clear();
    s.wrote();
    return {};
}

SpoolError Spool::append_dead_letters(const std::vector<DeadLetter>& letters) {
    Impl& s = *impl_;
    std::lock_guard lock(s.mu);
    s.durable_commits(true);
    if (letters.empty()) return {};
    if (const int rc = s.begin_write(); rc != SQLITE_OK) return s.fail(rc, "append dead letters: begin");
    SqliteStatement& q = s.sql.insert_dead;
    for (const auto& d : letters) {
        StatementReset reset(q);
        q.bind_text(1, d.write_key);
        q.bind_int64(2, d.events);
        q.bind_int64(3, d.status);
        q.bind_text(4, d.reason);
        q.bind_int64(5, d.created_ms);
        q.bind_int64(6, d.dead_ms);
        q.bind_int64(7, d.attempts);
        q.bind_blob(8, d.body);
        if (const int rc = q.step(); rc != SQLITE_DONE) {
            auto error = s.fail(rc, "append dead letters: insert");
            s.rollback_if_open();
            return error;
        }
    }
    if (auto error = s.commit_write("append dead letters: commit")) return error;
    s.wrote();
    return {};
}

}  // namespace lsr::server
