#include "server/ingest/execute_job.hpp"

#include <fcntl.h>
#include <openssl/rand.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>

#include "core/core_error.hpp"
#include "core/delivery/batch_builder.hpp"
#include "core/delivery/write_key_rule.hpp"
#include "core/hub/action_catalog.hpp"
#include "core/hub/execute_answer.hpp"
#include "core/hub/execute_payload_scanner.hpp"
#include "core/hub/execute_request_validator.hpp"
#include "core/mapping/attachment_decoder.hpp"
#include "core/mapping/event_sink.hpp"
#include "core/mapping/mapper_options.hpp"
#include "core/mapping/result_format.hpp"
#include "core/mapping/result_mapper.hpp"
#include "server/delivery/delivery_dispatcher.hpp"
#include "server/ingest/looker_downloader.hpp"
#include "server/net/logger.hpp"
#include "server/service/execute_handler.hpp"
#include "server/storage/spool.hpp"

namespace lsr::server {

namespace asio = boost::asio;

namespace {

constexpr std::size_t kReadChunk = 1 << 20;
constexpr const char* kRetryAfterSeconds = "30";
constexpr std::size_t kBatchesPerCommit = 8;
constexpr std::size_t kBytesPerCommit = 4 << 20;

std::int64_t wall_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

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

std::string plural(std::uint64_t n, std::string_view one, std::string_view many) {
    return std::to_string(n) + " " + std::string(n == 1 ? one : many);
}

class ExecuteJob final : public std::enable_shared_from_this<ExecuteJob>, public core::EventSink {
  public:
    ExecuteJob(std::shared_ptr<ExecuteHandler> handler, std::shared_ptr<HttpExchange> exchange,
               ExecuteSource source)
        : handler_(std::move(handler)),
          ctx_(handler_->ctx()),
          exchange_(std::move(exchange)),
          source_(std::move(source)),
          keepalive_(exchange_->executor()),
          builder_(core::BatchLimits{ctx_.config.segment.max_batch_events,
                                     ctx_.config.segment.max_batch_bytes, ctx_.config.segment.max_event_bytes,
                                     512}),
          request_id_(new_request_id()),
          started_(std::chrono::steady_clock::now()) {}

    void start() {
        {
            std::lock_guard lock(answer_mutex_);
            arm_keepalive();
        }
        if (ctx_.config.delivery.ack == config::AckMode::delivered)
            waiter_ = handler_->add_waiter(request_id_);
        std::weak_ptr<ExecuteJob> weak = shared_from_this();
        exchange_->on_interrupt([weak](Interruption why) {
            if (auto job = weak.lock()) job->interrupt(why);
        });
        auto self = shared_from_this();
        asio::post(ctx_.workers, [self] { self->guarded([&] { self->run(); }); });
    }

    // EventSink
    void on_event(const core::MappedEvent& event) override {
        if (stopped_) return;
        if (auto batch = builder_.add(event.json)) append(std::move(*batch));
    }
    void on_reject(const core::RowReject&) override {}

  private:
    // ---- interruption (the session's strand) ------------------------------------------------

    // Looker went away, or the drain's grace ran out: stop reading the result (the download
    // is cancelled), keep what was mapped so far, and answer with it (the answer goes nowhere
    // when the client is gone). Only flags and a cancel here: the workers do the rest.
    void interrupt(Interruption why) {
        interrupted_.store(why == Interruption::client_gone ? 1 : 2);
        std::shared_ptr<LookerDownloader> downloader;
        {
            std::lock_guard lock(download_mutex_);
            downloader = downloader_;
        }
        if (downloader) downloader->cancel();
    }

    bool interrupted() const { return interrupted_.load() != 0; }

    // Worker: the reason, once, as the failure the answer reports.
    void note_interruption() {
        const int why = interrupted_.load();
        if (why == 0 || stopped_ || !failure_.empty()) return;
        failure_ = why == 1 ? "Looker closed the connection before the result was read"
                            : "The relay is shutting down, so the rest of the result was not read; send it "
                              "again";
    }

    // ---- worker thread ------------------------------------------------------------------

    // No exception may leave a worker task (it would end the process): one that escapes the
    // pipeline stops the work and answers 500 (or, after the first newline, a failed looker body).
    // `answer_now` false while a download is running: its end answers.
    template <class F>
    void guarded(F&& f, bool answer_now = true) {
        try {
            f();
        } catch (const std::exception& e) {
            internal(e.what(), answer_now);
        } catch (...) {
            internal("unknown exception", answer_now);
        }
    }

    void internal(std::string_view what, bool answer_now) {
        ctx_.log.error("execute: internal error", {{"request_id", request_id_}, {"error", what}});
        internal_error_ = true;
        stopped_ = true;
        if (answer_now) answer_internal_error();
    }

    void answer_internal_error() {
        handler_->metrics().execute(source_.label, "internal_error");
        if (waiter_) handler_->remove_waiter(request_id_);
        std::lock_guard lock(answer_mutex_);
        if (answered_) return;
        answered_ = true;
        keepalive_.cancel();
        if (streaming_) {
            exchange_->end_stream(ExecuteHandler::looker_body(false, "Internal server error."));
        } else {
            exchange_->respond(http::status::internal_server_error,
                               ExecuteHandler::error_body("Internal server error."));
        }
    }

    void run() {
        // A spool that is already full (or a disk below its free-space reserve) refuses the
        // work before the body is even read.
        if (auto refused = ctx_.spool.room()) {
            spool_error_ = refused;
            return complete();
        }
        core::ExecutePayloadScanner scanner;
        if (!scan(scanner)) return;
        request_ = scanner.request();
        if (!validate()) return;
        options_.mapping = ctx_.config.mapping;
        if (source_.identity) options_.mapping.identity = *source_.identity;
        options_.call = source_.call;
        if (source_.webhook) {
            options_.event = source_.event;
        } else if (auto it = request_.form_params.find("event"); it != request_.form_params.end()) {
            options_.event = it->second;
        }
        options_.hidden_fields = request_.plan.hidden_fields;
        options_.plan_id = request_.plan.scheduled_plan_id;
        auto webhook_id = exchange_->header()["X-Looker-Webhook-Id"];
        // Results without ran_at (csv, txt, json) are told apart by Looker's delivery id when it
        // sends one; otherwise by content alone, so a re-sent delivery is deduplicated by Segment
        // rather than doubled (identical rows of one schedule within Segment's ~24 h window).
        options_.run_id = std::string(webhook_id);
        options_.received_at_ms = wall_ms();
        options_.max_event_bytes = ctx_.config.segment.max_event_bytes;

        if (!request_.plan.download_url.empty()) return start_download();
        read_attachment();
    }

    bool scan(core::ExecutePayloadScanner& scanner) {
        std::error_code ec;
        const std::string& file = exchange_->body_file();
        if (file.empty()) {
            ec = scanner.feed(exchange_->body());
        } else {
            int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
            if (fd < 0) {
                ctx_.log.error("execute: cannot open the request body", {{"request_id", request_id_}});
                answer_error(http::status::internal_server_error, "Internal server error.");
                return false;
            }
            std::string buf(kReadChunk, '\0');
            while (!ec) {
                ssize_t n = ::read(fd, buf.data(), buf.size());
                if (n < 0 && errno == EINTR) continue;
                if (n <= 0) break;
                ec = scanner.feed(std::string_view(buf.data(), static_cast<std::size_t>(n)));
            }
            ::close(fd);
        }
        if (!ec) ec = scanner.finish();
        if (ec) {
            std::string msg = scanner.error_message().empty() ? "Request body must be valid JSON."
                                                              : scanner.error_message();
            // Nesting beyond core::kMaxJsonDepth is a bad request, not a hub validation text.
            answer_error(
                ec == core::CoreError::too_deep ? http::status::bad_request : http::status::not_found, msg);
            return false;
        }
        return true;
    }

    bool validate() {
        // The hub's order and texts (core::ExecuteRequestValidator); the write key param is
        // required only when the config has no default write key. A plain webhook carries no
        // type or params: its write key comes from the route.
        core::ExecuteRequirements requirements;
        if (!ctx_.config.segment.default_write_key.empty()) requirements.required_params.clear();
        if (source_.webhook) {
            requirements.supported_types = {request_.type.empty() ? std::string("query") : request_.type};
            requirements.required_params.clear();
            core::ExecuteRequest typed = request_;
            typed.type_present = true;
            typed.type = requirements.supported_types.front();
            if (auto problem = core::ExecuteRequestValidator::check(typed, requirements)) {
                answer_error(http::status::not_found, *problem);
                return false;
            }
            write_key_ =
                source_.write_key.empty() ? ctx_.config.segment.default_write_key : source_.write_key;
        } else {
            if (auto problem = core::ExecuteRequestValidator::check(request_, requirements)) {
                answer_error(http::status::not_found, *problem);
                return false;
            }
            auto it = request_.params.find(std::string(core::ActionCatalog::write_key_param));
            write_key_ = it != request_.params.end() ? it->second : std::string();
            if (write_key_.empty()) write_key_ = ctx_.config.segment.default_write_key;
        }
        if (write_key_.empty()) {
            answer_error(http::status::not_found,
                         ExecuteHandler::missing_param_error(core::ActionCatalog::write_key_label));
            return false;
        }
        if (auto problem = core::WriteKeyRule::problem(write_key_)) {
            answer_error(http::status::bad_request, *problem, core::ActionCatalog::write_key_param);
            return false;
        }
        if (request_.plan.download_url.empty()) {
            const auto& a = request_.attachment;
            if (auto why = core::unreadable_attachment(a.mimetype, a.extension)) {
                failure_ = std::move(*why);
                complete();
                return false;
            }
        }
        return true;
    }

    void read_attachment() {
        const auto& a = request_.attachment;
        core::AttachmentDecoder decoder(a.kind, a.base64());
        std::string out;
        std::error_code ec;
        auto handle = [&](std::string_view raw) {
            out.clear();
            ec = decoder.feed(raw, out);
            if (!ec && !out.empty()) consume(out);
        };
        const std::string& file = exchange_->body_file();
        bool cut_short = false;  // stopped before the end of the data
        if (a.data_end < a.data_begin) {
            ec = std::make_error_code(std::errc::invalid_argument);
        } else if (file.empty()) {
            const std::string& body = exchange_->body();
            std::string_view span = std::string_view(body).substr(a.data_begin, a.data_end - a.data_begin);
            std::size_t off = 0;
            for (; off < span.size() && !ec && !stopped_ && !interrupted(); off += kReadChunk)
                handle(span.substr(off, kReadChunk));
            cut_short = off < span.size();
        } else {
            int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
            if (fd < 0) {
                failure_ = "The request body could not be read again.";
                return complete();
            }
            std::string buf(kReadChunk, '\0');
            std::uint64_t pos = a.data_begin;
            while (pos < a.data_end && !ec && !stopped_ && !interrupted()) {
                std::size_t want =
                    static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), a.data_end - pos));
                ssize_t n = ::pread(fd, buf.data(), want, static_cast<off_t>(pos));
                if (n < 0 && errno == EINTR) continue;
                if (n <= 0) {
                    failure_ = "The request body could not be read again.";
                    break;
                }
                pos += static_cast<std::uint64_t>(n);
                handle(std::string_view(buf.data(), static_cast<std::size_t>(n)));
            }
            ::close(fd);
            cut_short = pos < a.data_end;
        }
        if (cut_short) note_interruption();
        if (!ec && failure_.empty() && !stopped_) {
            out.clear();
            ec = decoder.finish(out);
            if (!ec && !out.empty()) consume(out);
        }
        if (ec && failure_.empty() && !stopped_)
            failure_ = "The attachment could not be decoded: " + ec.message() + ".";
        end_of_data();
    }

    void start_download() {
        if (!handler_->download_tls() && !handler_->tls_error().empty()) {
            std::string err;
            auto url = LookerDownloader::check_url(request_.plan.download_url, ctx_.config.hub.download, err);
            if (url && url->tls) {
                failure_ = handler_->tls_error();
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
            downloader_ =
                LookerDownloader::create(ctx_.io, ctx_.config.hub.download, handler_->download_tls());
            downloader = downloader_;
        }
        auto self = shared_from_this();
        downloader->start(
            request_.plan.download_url,
            [self](std::string_view chunk, LookerDownloader::Resume resume) {
                // The chunk stays valid until resume is called, so it can be mapped on a worker.
                asio::post(self->ctx_.workers, [self, chunk, resume = std::move(resume)] {
                    self->guarded([&] { self->consume(chunk); }, /*answer_now=*/false);
                    resume(!self->stopped_ && !self->interrupted());
                });
            },
            [self](DownloadOutcome outcome) {
                asio::post(self->ctx_.workers, [self, outcome = std::move(outcome)] {
                    if (self->internal_error_) return self->answer_internal_error();
                    if (!outcome.ok) self->note_interruption();  // what cut the download short
                    if (!outcome.ok && self->failure_.empty() && !self->stopped_)
                        self->failure_ = outcome.error;
                    self->guarded([&] { self->end_of_data(); });
                });
            });
    }

    // Result bytes, in order. The format is decided from the first bytes.
    void consume(std::string_view data) {
        if (stopped_ || interrupted()) return;
        if (!mapper_) {
            head_.append(data);
            if (head_.size() < core::kFormatSniffBytes) return;
            make_mapper();
            std::string head = std::move(head_);
            head_.clear();
            feed(head);
            return;
        }
        feed(data);
    }

    void feed(std::string_view data) {
        if (stopped_ || data.empty()) return;
        if (mapper_->feed(data)) {
            mapper_failed_ = true;
            stopped_ = true;
        }
    }

    void make_mapper() {
        // The decision `preview` takes too (core::choose_result_format).
        core::ResultOrigin origin;
        origin.action_api = !source_.webhook;
        origin.inline_attachment = request_.plan.download_url.empty() && request_.attachment.present;
        origin.mimetype = request_.attachment.mimetype;
        origin.extension = request_.attachment.extension;
        const core::ResultFormat format =
            core::choose_result_format(origin, std::string_view(head_).substr(0, core::kFormatSniffBytes));
        format_ = format;
        mapper_ = std::make_unique<core::ResultMapper>(options_, format, *this);
    }

    void end_of_data() {
        if (!mapper_ && !stopped_) {
            make_mapper();
            std::string head = std::move(head_);
            head_.clear();
            feed(head);
        }
        // After a failed read the input ended early: a half-read last row (a cut csv line,
        // say) must not become an event, so the mapper is not asked to finish it.
        if (mapper_ && !stopped_ && failure_.empty()) {
            if (mapper_->finish()) mapper_failed_ = true;
        }
        if (!stopped_) {
            if (auto batch = builder_.flush()) append(std::move(*batch));
            commit();
        }
        complete();
    }

    // Completed batches are committed a few at a time (one transaction, one fsync), so a
    // large result does not pay a disk sync per 2,500 events; the answer still comes only
    // after the last commit.
    void append(core::Batch batch) {
        if (stopped_) return;
        NewBatch nb;
        nb.write_key = write_key_;
        nb.body = std::move(batch.body);
        nb.events = batch.events;
        nb.request_id = request_id_;
        nb.created_ms = wall_ms();
        pending_bytes_ += nb.body.size();
        pending_.push_back(std::move(nb));
        if (pending_.size() >= kBatchesPerCommit || pending_bytes_ >= kBytesPerCommit) commit();
    }

    void commit() {
        if (stopped_ || pending_.empty()) return;
        std::vector<std::int64_t> ids;
        SpoolError ec = ctx_.spool.append(pending_, &ids);
        if (ec && (ec == SpoolErrc::full || ec == SpoolErrc::low_space) && pending_.size() > 1) {
            // Take what still fits, one batch at a time, so the count of accepted rows is exact.
            std::vector<NewBatch> rest = std::move(pending_);
            pending_.clear();
            pending_bytes_ = 0;
            for (auto& b : rest) {
                std::vector<NewBatch> one;
                one.push_back(std::move(b));
                ec = ctx_.spool.append(one, &ids);
                if (ec) break;
                spooled_events_ += one.front().events;
                ++spooled_batches_;
            }
            if (spooled_batches_ > 0) ctx_.dispatcher.notify(write_key_);
        } else if (!ec) {
            for (const auto& b : pending_) spooled_events_ += b.events;
            spooled_batches_ += pending_.size();
            ctx_.dispatcher.notify(write_key_);
        }
        pending_.clear();
        pending_bytes_ = 0;
        if (ec) {
            stopped_ = true;
            spool_error_ = ec;
            if (!ec.detail().empty()) {
                ctx_.log.error(
                    "execute: spool write failed",
                    {{"request_id", request_id_}, {"error", ec.message()}, {"detail", ec.detail()}});
            }
        }
    }

    // Everything read (or given up): report, or wait for delivery first.
    void complete() {
        const core::MappingSummary empty;
        const core::MappingSummary& s = mapper_ ? mapper_->summary() : empty;
        auto& m = handler_->metrics();
        m.rows_accepted(spooled_events_);
        for (const auto& [reason, n] : s.rejected_by_reason) m.rows_rejected(reason, n);
        for (const auto& [dest, n] : s.not_ready_by_destination) m.destination_not_ready(dest, n);
        const std::size_t max_reasons = ctx_.config.mapping.max_reasons_reported;
        const std::string accepted_so_far = core::ExecuteAnswer::accepted_so_far(spooled_events_);

        if (spool_error_) {
            std::uint64_t not_spooled = s.accepted > spooled_events_ ? s.accepted - spooled_events_ : 0;
            m.rows_rejected("spool_unavailable", not_spooled);
            std::string msg;
            if (spool_error_ == SpoolErrc::full) {
                msg =
                    "The relay's spool is full (spool.max_bytes), so the rest of the result was not "
                    "accepted; "
                    "retry later.";
                m.execute(source_.label, "spool_full");
            } else if (spool_error_ == SpoolErrc::low_space) {
                msg =
                    "The relay's disk is nearly full (below spool.min_free_bytes), so the rest of the result "
                    "was not accepted; retry later.";
                m.execute(source_.label, "spool_full");
            } else {
                msg = "The relay could not store the rows (" + spool_error_.message() +
                      "), so the rest of the result was not accepted; retry later.";
                m.execute(source_.label, "spool_error");
            }
            log_done("spool refused", s);
            return answer_looker(http::status::service_unavailable, false, msg + accepted_so_far, true);
        }
        if (!failure_.empty() || mapper_failed_) {
            const std::string msg = core::ExecuteAnswer::failure_message(
                !failure_.empty() ? failure_ : mapper_->error_message(), spooled_events_);
            m.execute(source_.label, interrupted() ? "interrupted" : "failed");
            log_done("failed", s);
            return answer_looker(http::status::ok, false, msg, false);
        }
        message_ = s.message(max_reasons);
        success_ = s.rejected == 0;
        m.execute(source_.label, success_ ? "success" : "partial");
        log_done("done", s);
        if (!waiter_ || spooled_batches_ == 0)
            return answer_looker(http::status::ok, success_, message_, false);
        wait_for_delivery();
    }

    void log_done(std::string_view outcome, const core::MappingSummary& s) {
        auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                        started_);
        ctx_.log.info("execute",
                      {{"request_id", request_id_},
                       {"action", source_.label},
                       {"outcome", outcome},
                       {"plan_id", request_.plan.scheduled_plan_id},
                       {"looker_instance", exchange_->header()["X-Looker-Instance"]},
                       {"webhook_id", exchange_->header()["X-Looker-Webhook-Id"]},
                       {"format", mapper_ ? core::result_format_name(format_) : std::string_view("none")},
                       {"rows", static_cast<std::int64_t>(s.rows)},
                       {"accepted", static_cast<std::int64_t>(spooled_events_)},
                       {"rejected", static_cast<std::int64_t>(s.rejected)},
                       {"batches", static_cast<std::int64_t>(spooled_batches_)},
                       {"ms", static_cast<std::int64_t>(ms.count())}});
    }

    // ---- ack: delivered --------------------------------------------------------------------

    void wait_for_delivery() {
        auto self = shared_from_this();
        ack_deadline_ = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(ctx_.config.delivery.ack_delivered_timeout_ms);
        ack_timer_.emplace(ctx_.io);
        poll_delivery();
        // Armed before the listener can answer from an io thread.
        {
            std::lock_guard lock(waiter_->mutex);
            if (!ack_answered_) waiter_->on_change = [self] { self->check_delivered(false); };
        }
        check_delivered(false);
    }

    // A short poll rather than one long timer: a drain (SIGTERM) or the deadline gives the
    // honest partial answer at once. Only this chain touches the timer, so it needs no cancel.
    void poll_delivery() {
        ack_timer_->expires_after(std::chrono::milliseconds(100));
        ack_timer_->async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
            if (ec || self->ack_answered_) return;
            if (self->ctx_.draining.load() || self->interrupted() ||
                std::chrono::steady_clock::now() >= self->ack_deadline_) {
                return self->check_delivered(true);
            }
            self->poll_delivery();
        });
    }

    void check_delivered(bool timed_out) {
        // Counted in events, not batches: a batch split after a 400/413 settles in parts.
        std::uint64_t delivered = 0, dead = 0;
        {
            std::lock_guard lock(waiter_->mutex);
            delivered = waiter_->delivered_events;
            dead = waiter_->dead_events;
        }
        const bool all_settled = delivered + dead >= spooled_events_;
        if (!all_settled && !timed_out) return;
        if (ack_answered_.exchange(true)) return;
        handler_->remove_waiter(request_id_);
        {
            std::lock_guard lock(waiter_->mutex);
            waiter_->on_change = nullptr;  // it holds this job
        }
        std::string msg = message_;
        bool ok = success_;
        if (all_settled && dead == 0) {
            msg += " All " + plural(delivered, "event was", "events were") + " delivered to Segment.";
        } else {
            ok = false;
            msg += " Delivered to Segment so far: " + std::to_string(delivered) + " of " +
                   std::to_string(spooled_events_) + " events";
            if (dead > 0)
                msg += "; " + plural(dead, "event was", "events were") + " refused by Segment (dead letters)";
            if (!all_settled) {
                msg += "; the others are still queued and will be delivered";
            }
            msg += ".";
        }
        answer_looker(http::status::ok, ok, msg, false);
    }

    // ---- answering -------------------------------------------------------------------------

    void arm_keepalive() {  // answer_mutex_ held
        keepalive_.expires_after(
            std::chrono::milliseconds(std::max<std::uint32_t>(1, ctx_.config.server.execute_keepalive_ms)));
        keepalive_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
            if (!ec) self->on_keepalive();
        });
    }

    void on_keepalive() {
        std::lock_guard lock(answer_mutex_);
        if (answered_) return;
        if (!streaming_) {
            streaming_ = true;
            exchange_->begin_stream(http::status::ok, "application/json");
        }
        exchange_->write_chunk("\n");
        arm_keepalive();
    }

    // An error found while reading the request: 404/500 with {"success":false,"error":…} while
    // nothing was sent yet; after the first newline, the looker body reporting the failure.
    // With `invalid_param`, a refused setting: the hub's validation_errors shape either way.
    void answer_error(http::status status, const std::string& error, std::string_view invalid_param = {}) {
        handler_->metrics().execute(source_.label, "rejected_request");
        if (waiter_) handler_->remove_waiter(request_id_);
        ctx_.log.info("execute refused",
                      {{"request_id", request_id_}, {"action", source_.label}, {"error", error}});
        std::lock_guard lock(answer_mutex_);
        if (answered_) return;
        answered_ = true;
        keepalive_.cancel();
        if (!invalid_param.empty()) {
            std::string body = ExecuteHandler::validation_body(invalid_param, error);
            if (streaming_) return exchange_->end_stream(std::move(body));
            return exchange_->respond(status, std::move(body));
        }
        if (streaming_) {
            exchange_->end_stream(ExecuteHandler::looker_body(false, error));
        } else {
            exchange_->respond(status, ExecuteHandler::error_body(error));
        }
    }

    void answer_looker(http::status status, bool success, const std::string& message, bool retry_after) {
        if (waiter_ && !ack_answered_) handler_->remove_waiter(request_id_);
        std::lock_guard lock(answer_mutex_);
        if (answered_) return;
        answered_ = true;
        keepalive_.cancel();
        std::string body = ExecuteHandler::looker_body(success, message);
        if (streaming_) {
            exchange_->end_stream(std::move(body));
        } else if (retry_after) {
            exchange_->respond(status, std::move(body), "application/json",
                               {{http::field::retry_after, kRetryAfterSeconds}});
        } else {
            exchange_->respond(status, std::move(body));
        }
    }

    std::shared_ptr<ExecuteHandler> handler_;
    ServiceContext& ctx_;
    std::shared_ptr<HttpExchange> exchange_;
    ExecuteSource source_;

    std::mutex answer_mutex_;
    asio::steady_timer keepalive_;
    bool streaming_ = false;
    bool answered_ = false;

    core::ExecuteRequest request_;
    core::MapperOptions options_;
    std::string write_key_;
    std::string head_;
    core::ResultFormat format_ = core::ResultFormat::json_detail;
    std::unique_ptr<core::ResultMapper> mapper_;
    core::BatchBuilder builder_;
    std::mutex download_mutex_;  // downloader_: set on a worker, cancelled from the strand
    std::shared_ptr<LookerDownloader> downloader_;
    std::atomic<int> interrupted_{0};  // 0, 1 client gone, 2 shutting down
    bool stopped_ = false;
    bool internal_error_ = false;
    bool mapper_failed_ = false;
    std::string failure_;
    std::error_code spool_error_;
    std::uint64_t spooled_events_ = 0;
    std::uint64_t spooled_batches_ = 0;
    std::vector<NewBatch> pending_;  // completed batches not yet committed
    std::size_t pending_bytes_ = 0;
    std::string message_;
    bool success_ = true;

    std::string request_id_;
    std::shared_ptr<ExecuteHandler::Waiter> waiter_;
    std::optional<asio::steady_timer> ack_timer_;
    std::chrono::steady_clock::time_point ack_deadline_;
    std::atomic<bool> ack_answered_{false};
    std::chrono::steady_clock::time_point started_;
};

}  // namespace

void start_execute_job(std::shared_ptr<ExecuteHandler> handler, std::shared_ptr<HttpExchange> exchange,
                       ExecuteSource source) {
    std::make_shared<ExecuteJob>(std::move(handler), std::move(exchange), std::move(source))->start();
}

}  // namespace lsr::server
