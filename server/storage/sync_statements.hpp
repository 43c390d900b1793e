// The statements of cohort sync and the run history (SyncStore), prepared with the spool's
// others at open and kept for the connection's life. Not thread-safe: the Spool's mutex
// guards them.
#pragma once

#include <string>

#include "server/storage/sqlite_statement.hpp"

struct sqlite3;

namespace lsr::server {

struct SyncStatements {
    // Baselines.
    SqliteStatement find_baseline, baseline_by_id, list_baselines, totals;
    SqliteStatement load_members, identity;
    // A run's stage and commit.
    SqliteStatement stage_insert, insert_baseline, baseline_state, count_new, count_gone, upsert_rows,
        upsert_identities, remove_rows, remove_identities, delete_stage, release_batch, update_baseline,
        delete_held;
    // Forgetting.
    SqliteStatement old_baselines, delete_baseline_rows, delete_baseline_identities, delete_baseline,
        reset_baseline;
    // The run history.
    SqliteStatement insert_run, update_run, list_runs, run_by_id, run_queued, run_dead, prune_runs;

    // Prepares them all; on failure returns SQLite's result code and sets *failed_sql.
    int prepare(sqlite3* db, std::string* failed_sql);
};

}  // namespace lsr::server
