// ExecuteJob's cohort sync (a SyncRun between the mapper and the batches) and its record in
// the run history. Worker tasks only, as the rest of the pipeline.
#include "core/iso_time.hpp"
#include "core/sync/sync_summary.hpp"
#include "server/ingest/execute_job.hpp"
#include "server/ingest/ingest_metrics.hpp"
#include "server/net/logger.hpp"
#include "server/storage/sync_store.hpp"

namespace lsr::server {

namespace {

constexpr int kInvalidParamStatus = 400;
constexpr int kBusyStatus = 409;

}  // namespace

// The run's sync mode, from the form (a route's keys for a webhook) over the `sync:`
// defaults. False when the execute was answered (a refused setting, a busy schedule) or
// stopped (the baseline could not be read).
bool ExecuteJob::open_sync() {
    core::SyncDefaults defaults;
    defaults.mode = d_.config.sync.mode;
    defaults.audience_events = d_.config.sync.audience_events;
    std::string error;
    std::string param;
    const auto& params = source_.webhook ? source_.sync_params : request_.form_params;
    auto request = core::SyncRequestParser::parse(params, defaults, request_.plan.title, error, param);
    if (!request) {
        answer_error(kInvalidParamStatus, error, param);
        return false;
    }
    record_.sync_mode = std::string(core::sync_mode_name(request->mode));
    if (request->mode == core::SyncMode::all) return true;
    if (d_.sync_store == nullptr || record_.id == 0) {
        // The run's staged rows are kept under its record's id: no record, no sync run.
        internal("sync: no run record (see the log line before)", true);
        return false;
    }
    if (request_.plan.scheduled_plan_id.empty()) {
        answer_error(kInvalidParamStatus,
                     "sync \"" + record_.sync_mode +
                         "\" compares a schedule's runs, and this delivery has no scheduled_plan_id: send it "
                         "from a schedule, or use sync \"all\".",
                     "sync");
        return false;
    }
    SyncRun::Setup setup;
    setup.request = std::move(*request);
    setup.key = {reply_->header("X-Looker-Instance"), request_.plan.scheduled_plan_id, source_.label,
                 committer_.write_key()};
    setup.title = request_.plan.title;
    setup.run_id = record_.id;
    setup.max_exit_fraction = d_.config.sync.max_exit_fraction;
    setup.max_members = d_.config.sync.max_members;
    setup.timestamp_json = "\"" + core::format_iso8601_ms(options_.received_at_ms) + "\"";
    sync_ = std::make_unique<SyncRun>(d_.sync_store, std::move(setup));
    bool busy = false;
    if (auto ec = sync_->open(busy)) {
        spool_failed(ec);
        sync_.reset();  // nothing was written yet
        complete();
        return false;
    }
    if (busy) {
        sync_.reset();
        answer_error(kBusyStatus,
                     "Another run of this schedule is still in progress on the relay; this one was not read. "
                     "Send it again once the other has finished.",
                     {});
        return false;
    }
    committer_.set_held(true);
    return true;
}

void ExecuteJob::emit_synced(std::string_view json) {
    if (auto batch = builder_.add(json)) append(std::move(*batch));
}

// Every row was read (or the reading stopped). Only a whole result moves the baseline.
void ExecuteJob::finish_sync() {
    const auto emit = [this](std::string_view json) { emit_synced(json); };
    // Looker leaving, or the drain, after the last byte was read cuts nothing short (the
    // reading sets failure_ when it stopped early).
    const bool whole = !stopped_ && failure_.empty() && !reader_->failed();
    if (!whole) return discard_sync();
    if (auto refusal = sync_->guard()) {
        sync_refusal_ = std::move(*refusal);
        d_.metrics.sync_guard_refusal();
        d_.log.warn("execute: sync guard refused the run", {{"request_id", request_id_},
                                                            {"plan_id", request_.plan.scheduled_plan_id},
                                                            {"message", *sync_refusal_}});
        return discard_sync();
    }
    if (auto ec = sync_->finish_rows(emit)) {
        spool_failed(ec);
        return discard_sync();
    }
    if (!stopped_) {
        if (auto batch = builder_.flush()) append(std::move(*batch));
        if (auto ec = committer_.commit()) spool_failed(ec);
    }
    if (stopped_) return discard_sync();
    if (auto ec = sync_->commit(committer_.held_ids(), d_.clock.unix_ms())) {
        spool_failed(ec);
        return discard_sync();
    }
    const auto& c = sync_->counts();
    d_.metrics.sync_rows(c.added, c.changed, c.unchanged, c.removed);
    if (committer_.batches() > 0 && d_.spooled) d_.spooled(committer_.write_key());
}

// Nothing of the run is kept: its held batches and staged rows are deleted (a failure to
// delete leaves them to the next start, which deletes them: they are never sent).
void ExecuteJob::discard_sync() {
    sync_discarded_ = true;
    if (auto ec = sync_->abort(committer_.held_ids())) {
        d_.log.error("execute: could not give up the sync run's held batches (the next start deletes them)",
                     {{"request_id", request_id_}, {"error", ec.message()}, {"detail", ec.detail()}});
    }
}

// ---- the run history ----------------------------------------------------------------------

void ExecuteJob::begin_record() {
    record_.request_id = request_id_;
    record_.received_ms = d_.clock.unix_ms();
    record_.instance = reply_->header("X-Looker-Instance");
    record_.webhook_id = reply_->header("X-Looker-Webhook-Id");
    record_.action = source_.label;
    record_.sync_mode = "all";
    if (d_.sync_store == nullptr) return;
    if (auto ec = d_.sync_store->begin_run(record_)) {
        d_.log.warn("execute: the run history could not record the run",
                    {{"request_id", request_id_}, {"error", ec.message()}, {"detail", ec.detail()}});
    }
}

// The record's counts and answer; called at complete() and, under ack: delivered, again
// with the final answer. A worker task (the write is a transaction).
void ExecuteJob::finish_record(const core::ExecuteReport& report, std::string_view outcome) {
    if (d_.sync_store == nullptr || record_.id == 0) return;
    std::lock_guard lock(record_mutex_);
    record_.plan_id = request_.plan.scheduled_plan_id;
    record_.title = request_.plan.title;
    record_.finished_ms = d_.clock.unix_ms();
    record_.outcome = std::string(outcome);
    record_.success = report.success;
    record_.answer = report.message;
    if (reader_) {
        const core::MappingSummary& s = reader_->summary();
        record_.rows = s.rows;
        record_.accepted = s.accepted;
        record_.rejected = s.rejected;
        record_.rejected_by_reason.assign(s.rejected_by_reason.begin(), s.rejected_by_reason.end());
    }
    record_.events = sync_discarded_ ? 0 : committer_.events();
    if (sync_ && !sync_discarded_) {
        const auto& c = sync_->counts();
        record_.added = c.added;
        record_.changed = c.changed;
        record_.unchanged = c.unchanged;
        record_.removed = c.removed;
    }
    if (auto ec = d_.sync_store->finish_run(record_)) {
        d_.log.warn("execute: the run history could not record the run's end",
                    {{"request_id", request_id_}, {"error", ec.message()}, {"detail", ec.detail()}});
    }
}

}  // namespace lsr::server
