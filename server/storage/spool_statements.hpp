// Every statement the spool runs, prepared once at open and kept for the connection's life.
// Not thread-safe: the Spool's mutex guards them.
#pragma once

#include <string>

#include "server/storage/sqlite_statement.hpp"
#include "server/storage/sync_statements.hpp"

struct sqlite3;

namespace lsr::server {

struct SpoolStatements {
    // Transactions and settings.
    SqliteStatement begin, begin_read, commit, rollback, sync_full, sync_normal;
    SqliteStatement data_version, sum_bytes, freelist;
    // The hot path: appends, leases, settles.
    SqliteStatement insert_batch, select_due, select_batch, delete_batch, reschedule, split_insert;
    SqliteStatement dead_insert, distinct_keys, key_schedule, key_oldest;
    // The operator's tools.
    SqliteStatement stats_batches, stats_dead;
    SqliteStatement list_dead, list_dead_body;
    SqliteStatement replay_one, replay_all, delete_dead_one, delete_dead_all, delete_batches_all;
    SqliteStatement insert_dead;
    // Cohort sync and the run history.
    SyncStatements sync;

    // Prepares them all; on failure returns SQLite's result code and sets *failed_sql.
    int prepare(sqlite3* db, std::string* failed_sql);
};

}  // namespace lsr::server
