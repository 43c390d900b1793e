#include "server/storage/sync_statements.hpp"

#include <sqlite3.h>

namespace lsr::server {

#define LSR_BASELINE_COLUMNS                                                                          \
    "id, instance, plan_id, action, write_key, title, mode, generation, members, bytes, created_ms, " \
    "last_run_ms"
#define LSR_RUN_COLUMNS                                                                               \
    "request_id, received_ms, finished_ms, instance, plan_id, title, action, webhook_id, sync_mode, " \
    "outcome, "                                                                                       \
    "\"rows\", accepted, rejected, rejected_by_reason, added, changed, unchanged, removed, events, "  \
    "success, "                                                                                       \
    "answer"
// 9223372036854775807: Spool::kHeldUntilMs, the next attempt of a held batch.
#define LSR_HELD "9223372036854775807"

int SyncStatements::prepare(sqlite3* db, std::string* failed_sql) {
    struct Prepared {
        SqliteStatement* statement;
        const char* sql;
    };
    const Prepared statements[] = {
        {&find_baseline,
         "SELECT " LSR_BASELINE_COLUMNS
         " FROM sync_baselines WHERE instance = ?1 AND plan_id = ?2 AND action = ?3 AND write_key = ?4"},
        {&baseline_by_id, "SELECT " LSR_BASELINE_COLUMNS " FROM sync_baselines WHERE id = ?1"},
        {&list_baselines, "SELECT " LSR_BASELINE_COLUMNS " FROM sync_baselines ORDER BY id"},
        {&totals, "SELECT count(*), COALESCE(SUM(members), 0), COALESCE(SUM(bytes), 0) FROM sync_baselines"},
        // In key order from ?2 on, ?3 rows at most: load_members reads a baseline in chunks.
        {&load_members,
         "SELECT id_hash, content_hash FROM sync_rows WHERE baseline_id = ?1 AND id_hash >= ?2 ORDER BY "
         "id_hash "
         "LIMIT ?3"},
        {&identity, "SELECT identity FROM sync_identities WHERE baseline_id = ?1 AND id_hash = ?2"},
        {&stage_insert,
         "INSERT INTO sync_stage (run_id, bucket, seq, id_hash, content_hash, identity, change) "
         "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"},
        {&insert_baseline,
         "INSERT INTO sync_baselines (instance, plan_id, action, write_key, title, mode, generation, "
         "members, "
         "bytes, created_ms, last_run_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0, 0, ?8, ?8)"},
        {&baseline_state, "SELECT generation, members, bytes FROM sync_baselines WHERE id = ?1"},
        // Per bucket ?3 of run ?2 against baseline ?1 (change: 0 added, 1 changed, 2 removed):
        // the rows the commit adds to the baseline (not members yet) with their identity bytes,
        // and the members it removes with theirs.
        {&count_new,
         "SELECT count(*), COALESCE(SUM(CASE WHEN s.change = 0 THEN length(s.identity) ELSE 0 END), 0) FROM "
         "sync_stage s WHERE s.run_id = ?2 AND s.bucket = ?3 AND s.change < 2 AND NOT EXISTS (SELECT 1 FROM "
         "sync_rows r WHERE r.baseline_id = ?1 AND r.id_hash = s.id_hash)"},
        {&count_gone,
         "SELECT count(*), COALESCE(SUM(length(i.identity)), 0) FROM sync_stage s JOIN sync_identities i ON "
         "i.baseline_id = ?1 AND i.id_hash = s.id_hash WHERE s.run_id = ?2 AND s.bucket = ?3 AND s.change = "
         "2"},
        // A changed row keeps its identity (the identity is what its id hash is of).
        {&upsert_rows,
         "INSERT OR REPLACE INTO sync_rows (baseline_id, id_hash, content_hash) SELECT ?1, id_hash, "
         "content_hash "
         "FROM sync_stage WHERE run_id = ?2 AND bucket = ?3 AND change < 2"},
        {&upsert_identities,
         "INSERT OR REPLACE INTO sync_identities (baseline_id, id_hash, identity) SELECT ?1, id_hash, "
         "identity "
         "FROM sync_stage WHERE run_id = ?2 AND bucket = ?3 AND change = 0"},
        {&remove_rows,
         "DELETE FROM sync_rows WHERE baseline_id = ?1 AND id_hash IN (SELECT id_hash FROM sync_stage WHERE "
         "run_id = ?2 AND bucket = ?3 AND change = 2)"},
        {&remove_identities,
         "DELETE FROM sync_identities WHERE baseline_id = ?1 AND id_hash IN (SELECT id_hash FROM sync_stage "
         "WHERE "
         "run_id = ?2 AND bucket = ?3 AND change = 2)"},
        {&delete_stage, "DELETE FROM sync_stage WHERE run_id = ?1"},
        {&release_batch,
         "UPDATE batches SET next_attempt_ms = ?2 WHERE id = ?1 AND next_attempt_ms = " LSR_HELD},
        {&update_baseline,
         "UPDATE sync_baselines SET title = ?2, mode = ?3, generation = ?4, members = ?5, bytes = ?6, "
         "last_run_ms = ?7 WHERE id = ?1"},
        {&delete_held,
         "DELETE FROM batches WHERE id = ?1 AND next_attempt_ms = " LSR_HELD " RETURNING bytes"},
        {&old_baselines, "SELECT id FROM sync_baselines WHERE last_run_ms < ?1 ORDER BY id"},
        {&delete_baseline_rows, "DELETE FROM sync_rows WHERE baseline_id = ?1"},
        {&delete_baseline_identities, "DELETE FROM sync_identities WHERE baseline_id = ?1"},
        {&delete_baseline, "DELETE FROM sync_baselines WHERE id = ?1"},
        {&reset_baseline,
         "UPDATE sync_baselines SET members = 0, bytes = 0, generation = generation + 1 WHERE id = ?1"},
        {&insert_run,
         "INSERT INTO runs (" LSR_RUN_COLUMNS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, "
         "?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, "
         "?21)"},
        {&update_run,
         "UPDATE runs SET request_id = ?1, received_ms = ?2, finished_ms = ?3, instance = ?4, plan_id = ?5, "
         "title = ?6, action = ?7, webhook_id = ?8, sync_mode = ?9, outcome = ?10, \"rows\" = ?11, accepted "
         "= ?12, "
         "rejected = ?13, rejected_by_reason = ?14, added = ?15, changed = ?16, unchanged = ?17, removed = "
         "?18, "
         "events = ?19, success = ?20, answer = ?21 WHERE id = ?22"},
        {&list_runs, "SELECT id, " LSR_RUN_COLUMNS " FROM runs WHERE id < ?1 ORDER BY id DESC LIMIT ?2"},
        {&run_by_id, "SELECT id, " LSR_RUN_COLUMNS " FROM runs WHERE id = ?1"},
        // Both read their covering index (request_id, events) alone.
        {&run_queued, "SELECT COALESCE(SUM(events), 0) FROM batches WHERE request_id = ?1"},
        {&run_dead, "SELECT COALESCE(SUM(events), 0) FROM dead_letters WHERE request_id = ?1"},
        {&prune_runs, "DELETE FROM runs WHERE received_ms < ?1"},
    };
    for (const auto& [statement, sql] : statements) {
        if (const int rc = statement->prepare(db, sql); rc != SQLITE_OK) {
            *failed_sql = sql;
            return rc;
        }
    }
    return SQLITE_OK;
}

#undef LSR_BASELINE_COLUMNS
#undef LSR_RUN_COLUMNS
#undef LSR_HELD

}  // namespace lsr::server
