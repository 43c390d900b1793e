#include "server/ingest/execute_job.hpp"

#include <openssl/rand.h>

#include <boost/asio/post.hpp>
#include <variant>

#include "core/hub/download_url.hpp"
#include "server/ingest/delivery_waiter.hpp"
#include "server/ingest/execute_admission.hpp"
#include "server/ingest/ingest_metrics.hpp"
#include "server/ingest/looker_downloader.hpp"
#include "server/ingest/settled_ledger.hpp"
#include "server/net/logger.hpp"
#include "server/storage/spool.hpp"

namespace lsr::server {

namespace asio = boost::asio;

namespace {

std::string new_request_id() {
    static std::atomic<std::uint64_t> counter{0};
    unsigned char raw[8] = {};
    std::string id = "x";
    if (RAND_bytes(raw, sizeof raw) == 1) {
        static constexpr char digits[] = "0123456789abcdef";
        for (unsigned char c : raw) {
            id += digits[c >> 4];
            id += digits[c & 0x0f];
        }
    }
    return id + "-" + std::to_string(++counter);
}

core::BatchLimits batch_limits(const config::SegmentConfig& s) {
    return core::BatchLimits{s.max_batch_events, s.max_batch_bytes, s.max_event_bytes, 512};
}

}  // namespace

ExecuteJob::ExecuteJob(std::shared_ptr<const ExecuteDeps> deps, std::shared_ptr<ExecuteReply> reply,
                       ExecuteSource source)
    : deps_(std::move(deps)),
      d_(*deps_),
      reply_(std::move(reply)),
      source_(std::move(source)),
      request_id_(new_request_id()),
      started_(d_.clock.steady()),
      ack_delivered_(d_.config.delivery.ack == config::AckMode::delivered),
      keepalive_(reply_->executor()),
      builder_(batch_limits(d_.config.segment)),
      committer_(d_.spool, d_.clock, request_id_, d_.spooled, d_.config.segment, &builder_) {}

void ExecuteJob::start() {
    {
        std::lock_guard lock(answer_mutex_);
        arm_keepalive();
    }
    // Opened before the first batch is spooled, so no settle is missed.
    if (ack_delivered_) d_.settled.open(request_id_);
    std::weak_ptr<ExecuteJob> weak = shared_from_this();
    reply_->on_stop([weak](ExecuteStop why) {
        if (auto job = weak.lock()) job->interrupt(why);
    });
    asio::post(d_.workers, [self = shared_from_this()] { self->guarded([&] { self->work(); }, true); });
}

void ExecuteJob::on_event(const core::MappedEvent& event) {
    if (stopped()) return;
    if (sync_) {
        if (auto ec = sync_->on_event(event.json, [this](std::string_view json) { emit_synced(json); }))
            spool_failed(ec);
        if (sync_->over_limit() && !stopped_) {
            failure_ = sync_->limit_message();
            stopped_ = true;  // nothing more is mapped; finish_sync gives the run up
        }
        return;
    }
    if (auto batch = builder_.add(event.json)) append(std::move(*batch));
}

// ---- interruption (the reply's strand) ----------------------------------------------------

// Looker went away, or the drain's grace ran out: stop reading the result (the download is
// cancelled), keep what was mapped so far, and answer with it (the answer goes nowhere when
// the client is gone). Only flags and a cancel here: the workers do the rest.
void ExecuteJob::interrupt(ExecuteStop why) {
    interrupted_.store(why == ExecuteStop::client_gone ? 1 : 2);
    std::shared_ptr<LookerDownloader> downloader;
    {
        std::lock_guard lock(download_mutex_);
        downloader = downloader_;
    }
    if (downloader) downloader->cancel();
}

// Worker: the reason, once, as the failure the answer reports.
void ExecuteJob::note_interruption() {
    const int why = interrupted_.load();
    if (why == 0 || stopped() || !failure_.empty()) return;
    failure_ = why == 1 ? "Looker closed the connection before the result was read"
                        : "The relay is shutting down, so the rest of the result was not read; send it again";
}

// ---- worker tasks ---------------------------------------------------------------------------

// No exception may leave a worker task (it would end the process): one that escapes the
// pipeline stops the work and answers 500 (or, after the first newline, a failed looker body).
// `answer_now` false while a download is running: its end answers.
template <class F>
void ExecuteJob::guarded(F&& f, bool answer_now) {
    try {
        f();
    } catch (const std::exception& e) {
        internal(e.what(), answer_now);
    } catch (...) {
        internal("unknown exception", answer_now);
    }
}

void ExecuteJob::internal(std::string_view what, bool answer_now) {
    d_.log.error("execute: internal error", {{"request_id", request_id_}, {"error", what}});
    internal_error_ = true;
    stopped_ = true;
    if (answer_now) answer_internal_error();
}

void ExecuteJob::work() {
    begin_record();
    // A spool that is already full (or a disk below its free-space reserve) refuses the work
    // before the body is even read.
    if (auto refused = d_.spool.room()) {
        spool_error_ = refused;
        return complete();
    }
    if (!admit()) return;
    options_.mapping = d_.config.mapping;
    if (source_.identity) options_.mapping.identity = *source_.identity;
    options_.call = source_.call;
    if (source_.webhook) {
        options_.event = source_.event;
    } else if (auto it = request_.form_params.find("event"); it != request_.form_params.end()) {
        options_.event = it->second;
    }
    options_.hidden_fields = request_.plan.hidden_fields;
    options_.plan_id = request_.plan.scheduled_plan_id;
    // Results without ran_at (csv, txt, json) are told apart by Looker's delivery id when it
    // sends one; otherwise by content alone, so a re-sent delivery is deduplicated by Segment
    // rather than doubled (identical rows of one schedule within Segment's ~24 h window).
    options_.run_id = reply_->header("X-Looker-Webhook-Id");
    options_.received_at_ms = d_.clock.unix_ms();
    options_.max_event_bytes = d_.config.segment.max_event_bytes;
    if (!open_sync()) return;
    make_reader();

    if (!request_.plan.download_url.empty()) return start_download();
    read_attachment();
}

bool ExecuteJob::admit() {
    auto checked = ExecuteAdmission::check(reply_->body(), reply_->body_file(), source_,
                                           d_.config.segment.default_write_key);
    if (auto* refused = std::get_if<ExecuteAdmission::Refused>(&checked)) {
        if (refused->unreadable_body)
            d_.log.error("execute: cannot open the request body", {{"request_id", request_id_}});
        answer_error(refused->status, refused->error, refused->invalid_param);
        return false;
    }
    auto& run = std::get<ExecuteAdmission::Admitted>(checked);
    request_ = std::move(run.request);
    committer_.set_write_key(std::move(run.write_key));
    if (run.unreadable) {
        failure_ = std::move(*run.unreadable);
        complete();
        return false;
    }
    return true;
}

void ExecuteJob::make_reader() {
    BodyReader::Origin origin;
    origin.action_api = !source_.webhook;
    origin.inline_attachment = request_.plan.download_url.empty() && request_.attachment.present;
    origin.mimetype = request_.attachment.mimetype;
    origin.extension = request_.attachment.extension;
    reader_.emplace(
        options_, std::move(origin), *this, [this] { return stopped_; }, [this] { return interrupted(); });
}

void ExecuteJob::read_attachment() {
    if (!reader_->read_attachment(reply_->body(), reply_->body_file(), request_.attachment, failure_,
                                  [this] { note_interruption(); }))
        return complete();
    end_of_data();
}

void ExecuteJob::start_download() {
    const auto& cfg = d_.config.hub.download;
    if (!d_.download_tls && !d_.download_tls_error.empty()) {
        std::string err;
        auto url = core::DownloadUrl::check(request_.plan.download_url, cfg.allowed_hosts,
                                            cfg.allow_loopback_http, err);
        if (url && url->tls) {
            failure_ = d_.download_tls_error;
            return complete();
        }
    }
    std::shared_ptr<LookerDownloader> downloader;
    {
        std::lock_guard lock(download_mutex_);
        if (interrupted()) {
            note_interruption();
            return complete();
        }
        downloader_ = LookerDownloader::create(d_.io, cfg, d_.download_tls);
        downloader = downloader_;
    }
    auto self = shared_from_this();
    downloader->start(
        request_.plan.download_url,
        [self](std::string_view chunk, LookerDownloader::Resume resume) {
            // The chunk stays valid until resume is called, so it can be mapped on a worker.
            asio::post(self->d_.workers, [self, chunk, resume = std::move(resume)] {
                self->guarded([&] { self->reader_->consume(chunk); }, false);
                resume(!self->stopped() && !self->interrupted());
            });
        },
        [self](DownloadOutcome outcome) {
            asio::post(self->d_.workers, [self, outcome = std::move(outcome)] {
                if (self->internal_error_) return self->answer_internal_error();
                if (!outcome.ok) self->note_interruption();  // what cut the download short
                if (!outcome.ok && self->failure_.empty() && !self->stopped()) self->failure_ = outcome.error;
                self->guarded([&] { self->end_of_data(); }, true);
            });
        });
}

void ExecuteJob::end_of_data() {
    // After a failed read the input ended early: the mapper is not asked to finish its row.
    reader_->end_of_data(failure_.empty());
    if (sync_) {
        finish_sync();
        return complete();
    }
    // A mapping error halts the reading, but what was mapped before it is committed (the
    // answer says so); only an internal or spool error gives up the open batches.
    if (!stopped_) {
        if (auto batch = builder_.flush()) append(std::move(*batch));
        if (auto ec = committer_.commit()) spool_failed(ec);
    }
    complete();
}

void ExecuteJob::append(core::Batch batch) {
    if (stopped_) return;
    if (auto ec = committer_.append(std::move(batch))) spool_failed(ec);
}

// The spool refused a commit: the run stops; SQLite's own words go to the log.
void ExecuteJob::spool_failed(const SpoolError& ec) {
    stopped_ = true;
    spool_error_ = ec;
    if (!ec.detail().empty()) {
        d_.log.error("execute: spool write failed",
                     {{"request_id", request_id_}, {"error", ec.message()}, {"detail", ec.detail()}});
    }
}

// Everything read (or given up): report, or wait for delivery first.
void ExecuteJob::complete() {
    static const core::MappingSummary kEmpty;
    const core::MappingSummary& s = reader_ ? reader_->summary() : kEmpty;
    auto& m = d_.metrics;
    const std::uint64_t spooled = sync_discarded_ ? 0 : committer_.events();
    m.rows_accepted(spooled);
    for (const auto& [reason, n] : s.rejected_by_reason) m.rows_rejected(reason, n);
    for (const auto& [dest, n] : s.not_ready_by_destination) m.destination_not_ready(dest, n);

    core::ExecuteOutcome outcome;
    outcome.spooled_events = spooled;
    outcome.sync_discarded = sync_discarded_;
    outcome.sync_refusal = sync_refusal_;
    if (sync_ && !sync_discarded_) {
        auto& c = sync_->counts();
        c.rows = s.rows;
        c.events = spooled;
        outcome.sync_message = core::SyncSummary::text(sync_->request().mode, c, sync_->request().resync);
        if (s.rejected > 0) *outcome.sync_message += " " + std::to_string(s.rejected) + " rejected.";
    }
    std::string_view logged = "done";
    if (spool_error_) {
        m.rows_rejected("spool_unavailable", s.accepted > spooled ? s.accepted - spooled : 0);
        outcome.spool = spool_error_ == SpoolErrc::full        ? core::SpoolRefusal::full
                        : spool_error_ == SpoolErrc::low_space ? core::SpoolRefusal::low_space
                                                               : core::SpoolRefusal::error;
        outcome.spool_error = spool_error_.message();
        logged = "spool refused";
    } else if (!failure_.empty() || (reader_ && reader_->failed())) {
        outcome.failure = !failure_.empty() ? failure_ : reader_->error_message();
        outcome.interrupted = interrupted();
        logged = "failed";
    }
    report_ = core::ExecuteReport::of(s, outcome, d_.config.mapping.max_reasons_reported);
    m.execute(source_.label, report_.outcome);
    log_done(logged, s);
    const bool wait = logged == "done" && ack_delivered_ && spooled > 0;
    finish_record(report_, wait ? "delivering" : report_.outcome);
    if (!wait) return answer(report_);
    wait_for_delivery();
}

void ExecuteJob::log_done(std::string_view outcome, const core::MappingSummary& s) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d_.clock.steady() - started_);
    d_.log.info("execute", {{"request_id", request_id_},
                            {"action", source_.label},
                            {"outcome", outcome},
                            {"plan_id", request_.plan.scheduled_plan_id},
                            {"looker_instance", reply_->header("X-Looker-Instance")},
                            {"webhook_id", reply_->header("X-Looker-Webhook-Id")},
                            {"format", reader_ ? reader_->format_name() : std::string_view("none")},
                            {"rows", static_cast<std::int64_t>(s.rows)},
                            {"accepted", static_cast<std::int64_t>(committer_.events())},
                            {"rejected", static_cast<std::int64_t>(s.rejected)},
                            {"batches", static_cast<std::int64_t>(committer_.batches())},
                            {"ms", static_cast<std::int64_t>(ms.count())}});
}

// ---- ack: delivered -------------------------------------------------------------------------

void ExecuteJob::wait_for_delivery() {
    auto self = shared_from_this();
    auto waiter = std::make_shared<DeliveryWaiter>(
        d_.io.get_executor(), d_.clock, committer_.events(),
        std::chrono::milliseconds(d_.config.delivery.ack_delivered_timeout_ms),
        [self] { return self->d_.settled.count(self->request_id_); },
        [self] { return self->d_.draining.load() || self->interrupted(); },
        [self](const core::SettledEvents& settled) {
            auto last = core::ExecuteReport::delivered(self->report_, self->committer_.events(), settled);
            asio::post(self->d_.workers, [self, last] { self->finish_record(last, last.outcome); });
            self->answer(last);
        });
    d_.settled.watch(request_id_, [waiter] { waiter->check(false); });
    waiter->start();
}

}  // namespace lsr::server
