// One execute in a sync mode (changes or audience): its rows compared with the schedule's
// baseline, what changed sent, the baseline moved on in the same commit as the events.
//
// The baseline is loaded as hashes (core::BaselineIndex, 16 bytes a member); each mapped event
// is read once (core::SyncEventReader) and classified; new and changed rows become the
// events core::SyncEventWriter writes, and are staged (SyncStore::stage) a few thousand at a
// time. The events go to the spool as held batches (the job's BatchCommitter). When every
// row was read: the guard (core::SyncGuard), then the exits, then one commit
// (SyncStore::commit_run) that applies the staged rows and releases the held batches. A
// result that failed, a refusal, or an error gives everything up (abort): nothing is sent
// and the baseline stays as it was. A process that dies in between leaves held batches and
// staged rows that its next start deletes; the re-sent execute then computes the same run,
// with the same generation and so the same messageIds.
//
// One run of a baseline at a time in this process: a second execute for the same schedule
// while one runs is refused (busy), so the two cannot commit the same generation.
// Used from one thread at a time (the job's worker tasks).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/sync/baseline_index.hpp"
#include "core/sync/sync_event_reader.hpp"
#include "core/sync/sync_event_writer.hpp"
#include "core/sync/sync_request.hpp"
#include "core/sync/sync_summary.hpp"
#include "server/storage/sync_store.hpp"

namespace lsr::server {

class SyncRun {
  public:
    using Emit = std::function<void(std::string_view event_json)>;
    static constexpr std::size_t kStageRows = 8192;
    static constexpr std::size_t kExitLookups = 4096;

    struct Setup {
        core::SyncRequest request;
        BaselineKey key;
        std::string title;
        std::int64_t run_id = 0;
        double max_exit_fraction = 0.5;
        std::string timestamp_json;  // the run's time: exits' timestamp when no row had one
        // `preview`: nothing is staged, committed or claimed; the store (when there is one)
        // is only read.
        bool dry_run = false;
        // Members a baseline may have (its own and this run's new ones; 0: no limit): the
        // memory of a run is 16 bytes of hashes per member, and more for new ones.
        std::uint64_t max_members = 0;
    };

    // `store` null: an empty baseline (a dry run's first run).
    SyncRun(SyncStore* store, Setup setup);
    ~SyncRun();
    SyncRun(const SyncRun&) = delete;
    SyncRun& operator=(const SyncRun&) = delete;

    // Claims the baseline in this process (`busy` when another run of it is in progress)
    // and loads it.
    SpoolError open(bool& busy);

    // A mapped event. What the run sends for it goes to `emit`.
    SpoolError on_event(std::string_view json, const Emit& emit);

    // Every row was read: a refusal text when the guard refuses the run, nullopt otherwise.
    std::optional<std::string> guard() const;
    // The exits (audience mode: their events to `emit`), and the rest of the stage.
    SpoolError finish_rows(const Emit& emit);
    // The run's held batches (all of its events) go out with the baseline change.
    SpoolError commit(const std::vector<std::int64_t>& held, std::int64_t now_ms);
    // Nothing of the run is kept.
    SpoolError abort(const std::vector<std::int64_t>& held);

    // The run went past Setup::max_members: it stops (nothing of it is kept) with this text.
    bool over_limit() const { return over_limit_; }
    std::string limit_message() const;

    core::SyncCounts& counts() { return counts_; }
    const core::SyncRequest& request() const { return setup_.request; }
    std::string_view mode_name() const { return core::sync_mode_name(setup_.request.mode); }
    std::uint64_t baseline_members() const { return index_.size(); }

  private:
    SpoolError stage(StagedRow row);
    SpoolError flush_stage();
    std::string key_text() const;
    core::SyncRunIdentity run_identity() const;

    SyncStore* store_;
    Setup setup_;
    std::string key_;    // the baseline's key as text (in messageIds)
    std::string claim_;  // the key text claimed in this process; empty when not claimed
    std::optional<BaselineInfo> baseline_;
    core::BaselineIndex index_;
    core::SyncEventReader reader_;
    core::SyncRowView view_;
    std::optional<core::SyncEventWriter> writer_;
    std::string read_error_;
    std::string row_timestamp_;  // the first row's "timestamp" value, with its quotes
    std::vector<StagedRow> staged_;
    core::SyncCounts counts_;
    std::uint64_t new_members_ = 0;
    bool over_limit_ = false;  // rows not in the baseline (counts_.added but for a resync)
};

}  // namespace lsr::server
