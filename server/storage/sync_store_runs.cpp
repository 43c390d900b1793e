// SyncStore's run history: the `runs` table, and the delivery figures of a run read from the
// batches and dead letters that carry its request id.
#include <rapidjson/document.h>
#include <sqlite3.h>

#include <limits>
#include <string_view>
#include <utility>

#include "core/json_out.hpp"
#include "server/storage/read_transaction.hpp"
#include "server/storage/spool_impl.hpp"
#include "server/storage/sync_store.hpp"

namespace lsr::server {

namespace {

std::int64_t as_int(std::uint64_t v) {
    return static_cast<std::int64_t>(v);
}
std::uint64_t as_uint(std::int64_t v) {
    return v < 0 ? 0 : static_cast<std::uint64_t>(v);
}

// rejected_by_reason as stored: {"reason":count,...}, in the record's order.
std::string reasons_json(const std::vector<std::pair<std::string, std::uint64_t>>& reasons) {
    std::string text;
    core::JsonOut out(text);
    out.raw('{');
    bool first = true;
    for (const auto& [reason, count] : reasons) {
        if (!first) out.raw(',');
        first = false;
        out.key(reason);
        out.raw(std::to_string(count));
    }
    out.raw('}');
    return text;
}

// The stored text back; what is not a count of a reason is left out.
std::vector<std::pair<std::string, std::uint64_t>> parse_reasons(std::string_view text) {
    std::vector<std::pair<std::string, std::uint64_t>> reasons;
    rapidjson::Document doc;
    doc.Parse(text.data(), text.size());
    if (doc.HasParseError() || !doc.IsObject()) return reasons;
    for (const auto& member : doc.GetObject()) {
        if (!member.value.IsUint64()) continue;
        reasons.emplace_back(std::string(member.name.GetString(), member.name.GetStringLength()),
                             member.value.GetUint64());
    }
    return reasons;
}

// ?1..?21 in the order of LSR_RUN_COLUMNS (sync_statements.cpp). `reasons` must outlive the
// statement's use (text is bound without a copy).
void bind_run(SqliteStatement& q, const RunRecord& r, const std::string& reasons) {
    q.bind_text(1, r.request_id);
    q.bind_int64(2, r.received_ms);
    q.bind_int64(3, r.finished_ms);
    q.bind_text(4, r.instance);
    q.bind_text(5, r.plan_id);
    q.bind_text(6, r.title);
    q.bind_text(7, r.action);
    q.bind_text(8, r.webhook_id);
    q.bind_text(9, r.sync_mode);
    q.bind_text(10, r.outcome);
    q.bind_int64(11, as_int(r.rows));
    q.bind_int64(12, as_int(r.accepted));
    q.bind_int64(13, as_int(r.rejected));
    q.bind_text(14, reasons);
    q.bind_int64(15, as_int(r.added));
    q.bind_int64(16, as_int(r.changed));
    q.bind_int64(17, as_int(r.unchanged));
    q.bind_int64(18, as_int(r.removed));
    q.bind_int64(19, as_int(r.events));
    q.bind_int64(20, r.success ? 1 : 0);
    q.bind_text(21, r.answer);
}

// Column 0: id, then LSR_RUN_COLUMNS.
RunRecord read_run(const SqliteStatement& q) {
    RunRecord r;
    r.id = q.column_int64(0);
    r.request_id = q.column_string(1);
    r.received_ms = q.column_int64(2);
    r.finished_ms = q.column_int64(3);
    r.instance = q.column_string(4);
    r.plan_id = q.column_string(5);
    r.title = q.column_string(6);
    r.action = q.column_string(7);
    r.webhook_id = q.column_string(8);
    r.sync_mode = q.column_string(9);
    r.outcome = q.column_string(10);
    r.rows = as_uint(q.column_int64(11));
    r.accepted = as_uint(q.column_int64(12));
    r.rejected = as_uint(q.column_int64(13));
    r.rejected_by_reason = parse_reasons(q.column_view(14));
    r.added = as_uint(q.column_int64(15));
    r.changed = as_uint(q.column_int64(16));
    r.unchanged = as_uint(q.column_int64(17));
    r.removed = as_uint(q.column_int64(18));
    r.events = as_uint(q.column_int64(19));
    r.success = q.column_int64(20) != 0;
    r.answer = q.column_string(21);
    return r;
}

std::uint64_t sum_events(SqliteStatement& q, const std::string& request_id) {
    StatementReset reset(q);
    q.bind_text(1, request_id);
    return q.step() == SQLITE_ROW ? as_uint(q.column_int64(0)) : 0;
}

// queued, dead_lettered and delivered of a run that spooled events (mu held).
void fill_delivery(SyncStatements& q, RunRecord& r) {
    if (r.request_id.empty() || r.events == 0) return;
    r.queued = sum_events(q.run_queued, r.request_id);
    r.dead_lettered = sum_events(q.run_dead, r.request_id);
    const std::uint64_t settled = r.queued + r.dead_lettered;
    r.delivered = r.events > settled ? r.events - settled : 0;
}

}  // namespace

// The run history is not what Looker is told is safe: its writes commit with NORMAL (they
// survive a crash of the process; a power loss may undo the last ones).
SpoolError SyncStore::begin_run(RunRecord& r) {
    Spool::Impl& s = *spool_.impl_;
    SqliteStatement& q = s.sql.sync.insert_run;
    std::lock_guard lock(s.mu);
    s.durable_commits(false);
    const std::string reasons = reasons_json(r.rejected_by_reason);
    StatementReset reset(q);
    bind_run(q, r, reasons);
    if (const int rc = q.step(); rc != SQLITE_DONE) return s.fail(rc, "begin_run");
    r.id = sqlite3_last_insert_rowid(s.db);
    s.wrote();
    return {};
}

SpoolError SyncStore::finish_run(const RunRecord& r) {
    Spool::Impl& s = *spool_.impl_;
    SqliteStatement& q = s.sql.sync.update_run;
    std::lock_guard lock(s.mu);
    s.durable_commits(false);
    const std::string reasons = reasons_json(r.rejected_by_reason);
    StatementReset reset(q);
    bind_run(q, r, reasons);
    q.bind_int64(22, r.id);
    if (const int rc = q.step(); rc != SQLITE_DONE) return s.fail(rc, "finish_run");
    if (sqlite3_changes(s.db) == 0) return make_error_code(SpoolErrc::not_found);
    s.wrote();
    return {};
}

std::vector<RunRecord> SyncStore::list_runs(std::int64_t before_id, std::size_t limit) {
    Spool::Impl& s = *spool_.impl_;
    SyncStatements& q = s.sql.sync;
    std::lock_guard lock(s.mu);
    std::vector<RunRecord> out;
    if (limit == 0) return out;
    ReadTransaction read(s);  // the runs and their figures from one snapshot
    {
        StatementReset reset(q.list_runs);
        q.list_runs.bind_int64(1, before_id > 0 ? before_id : std::numeric_limits<std::int64_t>::max());
        const auto max = static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max());
        q.list_runs.bind_int64(2, static_cast<std::int64_t>(limit > max ? max : limit));
        while (q.list_runs.step() == SQLITE_ROW) out.push_back(read_run(q.list_runs));
    }
    for (auto& r : out) fill_delivery(q, r);
    return out;
}

std::optional<RunRecord> SyncStore::run(std::int64_t id) {
    Spool::Impl& s = *spool_.impl_;
    SyncStatements& q = s.sql.sync;
    std::lock_guard lock(s.mu);
    ReadTransaction read(s);
    std::optional<RunRecord> r;
    {
        StatementReset reset(q.run_by_id);
        q.run_by_id.bind_int64(1, id);
        if (q.run_by_id.step() != SQLITE_ROW) return std::nullopt;
        r = read_run(q.run_by_id);
    }
    fill_delivery(q, *r);
    return r;
}

SpoolError SyncStore::prune_runs(std::int64_t older_than_ms, std::size_t* pruned) {
    Spool::Impl& s = *spool_.impl_;
    SqliteStatement& q = s.sql.sync.prune_runs;
    std::lock_guard lock(s.mu);
    s.durable_commits(false);
    if (pruned != nullptr) *pruned = 0;
    StatementReset reset(q);
    q.bind_int64(1, older_than_ms);
    if (const int rc = q.step(); rc != SQLITE_DONE) return s.fail(rc, "prune_runs");
    if (pruned != nullptr) *pruned = static_cast<std::size_t>(sqlite3_changes(s.db));
    s.wrote();
    return {};
}

}  // namespace lsr::server
