// One execute request from its body to its answer: scan and validate (ExecuteAdmission: the hub's order and
// texts), read the rows from the attachment span or the download_url (BodyReader), map them,
// append the batches to the spool (BatchCommitter), keep the connection alive with newlines,
// wait for Segment under `ack: delivered` (DeliveryWaiter), answer (core::ExecuteReport).
// The CPU work runs on deps.workers, one task at a time; the answer goes through the
// ExecuteReply, whose calls may come from any thread.
#pragma once

#include <atomic>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>

#include "core/delivery/batch_builder.hpp"
#include "core/hub/execute_payload_scanner.hpp"
#include "core/hub/execute_report.hpp"
#include "core/mapping/event_sink.hpp"
#include "core/mapping/mapper_options.hpp"
#include "server/ingest/batch_committer.hpp"
#include "server/ingest/body_reader.hpp"
#include "server/ingest/execute_deps.hpp"
#include "server/ingest/execute_reply.hpp"
#include "server/ingest/execute_source.hpp"
#include "server/ingest/sync_run.hpp"
#include "server/storage/run_record.hpp"

namespace lsr::server {

class LookerDownloader;

class ExecuteJob final : public std::enable_shared_from_this<ExecuteJob>, public core::EventSink {
  public:
    // `deps` is kept alive as long as the job.
    ExecuteJob(std::shared_ptr<const ExecuteDeps> deps, std::shared_ptr<ExecuteReply> reply,
               ExecuteSource source);

    static void run(std::shared_ptr<const ExecuteDeps> deps, std::shared_ptr<ExecuteReply> reply,
                    ExecuteSource source) {
        std::make_shared<ExecuteJob>(std::move(deps), std::move(reply), std::move(source))->start();
    }

    void start();
    const std::string& request_id() const { return request_id_; }

    // EventSink
    void on_event(const core::MappedEvent& event) override;
    void on_reject(const core::RowReject&) override {}

  private:
    void interrupt(ExecuteStop why);
    bool interrupted() const { return interrupted_.load() != 0; }
    void note_interruption();
    bool stopped() const { return stopped_ || (reader_ && reader_->halted()); }

    template <class F>
    void guarded(F&& f, bool answer_now);
    void internal(std::string_view what, bool answer_now);

    void work();
    bool admit();
    void make_reader();
    void read_attachment();
    void start_download();
    void end_of_data();
    void append(core::Batch batch);
    void spool_failed(const SpoolError& ec);
    void complete();
    void log_done(std::string_view outcome, const core::MappingSummary& s);
    void wait_for_delivery();

    // Cohort sync and the run history (execute_job_sync.cpp).
    bool open_sync();
    void finish_sync();
    void discard_sync();
    void emit_synced(std::string_view json);
    void begin_record();
    void finish_record(const core::ExecuteReport& report, std::string_view outcome);

    void arm_keepalive();
    void on_keepalive();
    bool take_answer();
    void answer_internal_error();
    void answer_error(int status, const std::string& error, std::string_view invalid_param);
    void answer(const core::ExecuteReport& report);

    std::shared_ptr<const ExecuteDeps> deps_;
    const ExecuteDeps& d_;
    std::shared_ptr<ExecuteReply> reply_;
    ExecuteSource source_;
    std::string request_id_;
    core::Clock::Steady started_;
    bool ack_delivered_ = false;

    std::mutex answer_mutex_;
    boost::asio::steady_timer keepalive_;
    bool streaming_ = false;
    bool answered_ = false;

    core::ExecuteRequest request_;
    core::MapperOptions options_;
    std::optional<BodyReader> reader_;
    core::BatchBuilder builder_;
    BatchCommitter committer_;
    std::mutex download_mutex_;  // downloader_: set on a worker, cancelled from the reply's strand
    std::shared_ptr<LookerDownloader> downloader_;
    std::atomic<int> interrupted_{0};  // 0, 1 client gone, 2 shutting down
    bool stopped_ = false;             // an internal or spool error: nothing more is mapped
    std::atomic<bool> internal_error_{false};
    std::string failure_;
    std::error_code spool_error_;
    core::ExecuteReport report_;

    std::unique_ptr<SyncRun> sync_;  // changes or audience
    bool sync_discarded_ = false;    // the run's held batches and stage were given up
    std::optional<std::string> sync_refusal_;
    RunRecord record_;
    std::mutex record_mutex_;  // record_: written at complete() and again by the last answer
};

}  // namespace lsr::server
