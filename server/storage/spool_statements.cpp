#include "server/storage/spool_statements.hpp"

#include <sqlite3.h>

namespace lsr::server {

int SpoolStatements::prepare(sqlite3* db, std::string* failed_sql) {
    struct Prepared {
        SqliteStatement* statement;
        const char* sql;
    };
    const Prepared statements[] = {
        {&begin, "BEGIN IMMEDIATE"},
        {&begin_read, "BEGIN"},
        {&commit, "COMMIT"},
        {&rollback, "ROLLBACK"},
        {&sync_full, "PRAGMA synchronous=FULL"},
        {&sync_normal, "PRAGMA synchronous=NORMAL"},
        {&data_version, "PRAGMA data_version"},
        {&sum_bytes, "SELECT COALESCE(SUM(bytes), 0), COALESCE(MAX(bytes), 0), count(*) FROM batches"},
        {&freelist, "PRAGMA freelist_count"},
        {&insert_batch,
         "INSERT INTO batches (write_key, events, bytes, request_id, created_ms, attempts, next_attempt_ms, "
         "last_error, body) VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6, '', ?7)"},
        {&select_due,
         "SELECT id FROM batches WHERE write_key = ?1 AND next_attempt_ms <= ?2 ORDER BY created_ms, id"},
        {&select_batch,
         "SELECT id, write_key, events, request_id, created_ms, attempts, next_attempt_ms, last_error, body "
         "FROM batches WHERE id = ?1"},
        {&delete_batch, "DELETE FROM batches WHERE id = ?1 RETURNING bytes"},
        {&reschedule,
         "UPDATE batches SET attempts = attempts + 1, next_attempt_ms = ?2, last_error = ?3 WHERE id = ?1"},
        {&split_insert,
         "INSERT INTO batches (write_key, events, bytes, request_id, created_ms, attempts, next_attempt_ms, "
         "last_error, body) SELECT write_key, ?2, ?3, request_id, created_ms, attempts, ?4, last_error, ?5 "
         "FROM batches WHERE id = ?1"},
        {&dead_insert,
         "INSERT INTO dead_letters (write_key, events, status, reason, created_ms, dead_ms, attempts, "
         "request_id, "
         "body) SELECT write_key, events, ?2, ?3, created_ms, ?4, attempts + 1, request_id, body FROM "
         "batches "
         "WHERE id = ?1"},
        {&distinct_keys, "SELECT DISTINCT write_key FROM batches ORDER BY write_key"},
        {&key_schedule,
         "SELECT id, next_attempt_ms FROM batches WHERE write_key = ?1 ORDER BY next_attempt_ms"},
        // Both read the batches_age index alone (it holds every column they need).
        {&key_oldest, "SELECT write_key, MIN(created_ms) FROM batches GROUP BY write_key ORDER BY write_key"},
        {&stats_batches,
         "SELECT count(*), COALESCE(SUM(events), 0), COALESCE(SUM(bytes), 0), COALESCE(MIN(created_ms), 0) "
         "FROM batches"},
        {&stats_dead, "SELECT count(*), COALESCE(SUM(events), 0) FROM dead_letters"},
        {&list_dead,
         "SELECT id, write_key, events, status, reason, created_ms, dead_ms, attempts FROM dead_letters "
         "ORDER BY id LIMIT ?1"},
        {&list_dead_body,
         "SELECT id, write_key, events, status, reason, created_ms, dead_ms, attempts, body FROM "
         "dead_letters "
         "ORDER BY id LIMIT ?1"},
        {&replay_one,
         "INSERT INTO batches (write_key, events, bytes, request_id, created_ms, attempts, next_attempt_ms, "
         "last_error, body) SELECT write_key, events, length(body), '', created_ms, 0, ?2, '', body "
         "FROM dead_letters WHERE id = ?1"},
        {&replay_all,
         "INSERT INTO batches (write_key, events, bytes, request_id, created_ms, attempts, next_attempt_ms, "
         "last_error, body) SELECT write_key, events, length(body), '', created_ms, 0, ?1, '', body "
         "FROM dead_letters ORDER BY id"},
        {&delete_dead_one, "DELETE FROM dead_letters WHERE id = ?1"},
        {&delete_dead_all, "DELETE FROM dead_letters"},
        {&delete_batches_all, "DELETE FROM batches"},
        {&insert_dead,
         "INSERT INTO dead_letters (write_key, events, status, reason, created_ms, dead_ms, attempts, body) "
         "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"},
    };
    for (const auto& [statement, sql] : statements) {
        if (const int rc = statement->prepare(db, sql); rc != SQLITE_OK) {
            *failed_sql = sql;
            return rc;
        }
    }
    return sync.prepare(db, failed_sql);
}

}  // namespace lsr::server
