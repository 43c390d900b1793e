// Cohort sync's state and the run history, in the spool's own database (one connection, one
// mutex: Spool::Impl), so a run's baseline change and the events it causes commit together.
//
// A sync run (mode changes or audience) works like this:
//   1. find_baseline(key): the baseline's id, generation and size (none before the first run);
//      load_members(id, …): every (identity hash, content hash) of it, to compare in memory.
//   2. Its events are appended to the spool as held batches (NewBatch::held: never leased),
//      and what the run changes is staged (stage(): added/changed rows with their new content
//      hash and identity text, removed rows), a transaction every few thousand rows.
//   3. commit_run(): one transaction applies the staged rows to the baseline, releases the
//      held batches (due now), raises the generation, and records the run's counts. Or
//      abort_run(): the held batches and the staged rows are deleted (the guard refused, the
//      result failed). A process that dies before either leaves both behind: Spool::open
//      (exclusive) deletes held batches and staged rows, and marks unfinished runs, so
//      Looker's re-send of the execute computes the same run again.
// Thread-safe (the spool's mutex); every call that writes is one transaction.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "server/storage/run_record.hpp"
#include "server/storage/spool.hpp"
#include "server/storage/spool_error.hpp"

namespace lsr::server {

// Whose baseline: one per Looker instance, schedule, action (or webhook route) and write key.
struct BaselineKey {
    std::string instance;
    std::string plan_id;
    std::string action;
    std::string write_key;
};

struct BaselineInfo {
    std::int64_t id = 0;
    BaselineKey key;  // write_key: the caller masks it before showing it
    std::string title;
    std::string mode;             // sync mode of its last run
    std::int64_t generation = 0;  // committed runs so far
    std::uint64_t members = 0;    // rows in the baseline
    std::uint64_t bytes = 0;      // approximate bytes of its rows
    std::int64_t created_ms = 0;
    std::int64_t last_run_ms = 0;  // last committed run
};

enum class StagedChange { added, changed, removed };

struct StagedRow {
    std::uint64_t id_hash = 0;
    std::uint64_t content_hash = 0;  // removed: unused
    std::string identity;            // the identity members as JSON text; removed: unused
    StagedChange change = StagedChange::added;
};

struct RunCommit {
    std::int64_t run_id = 0;       // the RunRecord's id (the staged rows are under it)
    std::int64_t baseline_id = 0;  // 0: the schedule's first run, the baseline is created
    BaselineKey key;
    std::string title;
    std::string mode;
    // The generation the run leaves: one more than the one it read when it changed the baseline
    // (its messageIds used it), the same (== base_generation) when it only saw it.
    std::int64_t generation = 0;
    std::int64_t base_generation = 0;   // the one it read, when it is not raised
    std::uint64_t members = 0;          // the baseline's size after the run
    std::vector<std::int64_t> release;  // the run's held batches: due now
    std::int64_t now_ms = 0;
};

struct SyncTotals {
    std::uint64_t baselines = 0;
    std::uint64_t rows = 0;
    std::uint64_t bytes = 0;
};

class SyncStore {
  public:
    explicit SyncStore(Spool& spool);

    // ---- baselines ----
    // nullopt in *out when the key has none. A read error is returned (never "none").
    SpoolError find_baseline(const BaselineKey& key, std::optional<BaselineInfo>* out);
    // Every member of the baseline, in no particular order.
    SpoolError load_members(
        std::int64_t baseline_id,
        const std::function<void(std::uint64_t id_hash, std::uint64_t content_hash)>& each);
    // The identity text of each id hash (in order; "" when it is not a member).
    SpoolError identities(std::int64_t baseline_id, const std::vector<std::uint64_t>& id_hashes,
                          std::vector<std::string>* out);
    // Staged under run_id, one transaction (any number of calls per run, 8,192 rows a call
    // is a good size).
    SpoolError stage(std::int64_t run_id, const std::vector<StagedRow>& rows);
    // One transaction (see above). *baseline_id: the baseline's id (new on a first run).
    // SpoolErrc::conflict, with nothing changed, when the baseline is not the one the run
    // compared against: baseline_id 0 but the key has one now, or baseline_id gone (reset,
    // forgotten), or its generation already at or past commit.generation (another run of the
    // schedule committed meanwhile). The caller aborts the run; a re-send computes it again.
    // The baseline's members are counted from the rows the commit adds and removes (the same
    // as commit.members unless an id hash was staged twice); release ids that are gone or not
    // held are left as they are. Staged rows and baselines are not subject to the spool's
    // room check (only batches are): a disk-full or I/O error is returned as for any write.
    SpoolError commit_run(const RunCommit& commit, std::int64_t* baseline_id);
    // Deletes the held batches and the rows staged under run_id, one transaction (ids that are
    // gone or not held are left as they are).
    SpoolError abort_run(std::int64_t run_id, const std::vector<std::int64_t>& held_batches);

    std::vector<BaselineInfo> list_baselines();
    std::optional<BaselineInfo> baseline(std::int64_t id);
    // Deletes a baseline's rows and raises its generation: the schedule's next run is a first
    // run, with new messageIds; a run in progress on the old rows gets conflict at its commit.
    SpoolError reset_baseline(std::int64_t id, bool* found);
    // Drops baselines whose last run is older than older_than_ms (with their rows).
    SpoolError forget_baselines(std::int64_t older_than_ms, std::size_t* dropped);
    SyncTotals totals();

    // ---- run history ----
    // Inserts the record (outcome "running"); sets r.id.
    SpoolError begin_run(RunRecord& r);
    // Writes every stored field of the record (by r.id).
    SpoolError finish_run(const RunRecord& r);
    // Newest first: runs with id < before_id (0: from the newest), at most limit; with the
    // delivery figures (queued, dead_lettered, delivered) filled in. Replayed dead letters
    // carry no request id (they count as delivered, as purged batches do).
    std::vector<RunRecord> list_runs(std::int64_t before_id, std::size_t limit);
    std::optional<RunRecord> run(std::int64_t id);
    // Drops runs received before older_than_ms.
    SpoolError prune_runs(std::int64_t older_than_ms, std::size_t* pruned);

  private:
    Spool& spool_;
};

}  // namespace lsr::server
