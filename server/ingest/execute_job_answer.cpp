// ExecuteJob's one answer: keepalive newlines while it works, then the answer (or an error),
// given once, whichever thread gets there first.
#include "server/ingest/execute_job.hpp"
#include "server/ingest/ingest_metrics.hpp"
#include "server/ingest/settled_ledger.hpp"
#include "server/net/logger.hpp"

namespace lsr::server {

// ---- answering ------------------------------------------------------------------------------

void ExecuteJob::arm_keepalive() {  // answer_mutex_ held
    keepalive_.expires_after(
        std::chrono::milliseconds(std::max<std::uint32_t>(1, d_.config.server.execute_keepalive_ms)));
    keepalive_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
        if (!ec) self->on_keepalive();
    });
}

void ExecuteJob::on_keepalive() {
    std::lock_guard lock(answer_mutex_);
    if (answered_) return;
    if (!streaming_) {
        streaming_ = true;
        reply_->begin_stream();
    }
    reply_->keepalive();
    arm_keepalive();
}

// The one answer: true for the caller that may give it (answer_mutex_ held). The ledger's
// entry was closed before the lock was taken: its callback may hold the last job reference.
bool ExecuteJob::take_answer() {
    if (answered_) return false;
    answered_ = true;
    keepalive_.cancel();
    return true;
}

void ExecuteJob::answer_internal_error() {
    d_.metrics.execute(source_.label, "internal_error");
    {
        core::ExecuteReport failed;
        failed.success = false;
        failed.message = std::string(core::ExecuteReport::kInternalError);
        finish_record(failed, "internal_error");
    }
    if (ack_delivered_) d_.settled.close(request_id_);
    std::lock_guard lock(answer_mutex_);
    if (!take_answer()) return;
    if (streaming_) {
        reply_->end_stream(core::ExecuteReport::looker_body(false, core::ExecuteReport::kInternalError));
    } else {
        reply_->respond(500, core::ExecuteReport::error_body(core::ExecuteReport::kInternalError), false);
    }
}

// An error found while reading the request: 404/500 with {"success":false,"error":…} while
// nothing was sent yet; after the first newline, the looker body reporting the failure. With
// `invalid_param`, a refused setting: the hub's validation_errors shape either way.
void ExecuteJob::answer_error(int status, const std::string& error, std::string_view invalid_param) {
    d_.metrics.execute(source_.label, "rejected_request");
    d_.log.info("execute refused",
                {{"request_id", request_id_}, {"action", source_.label}, {"error", error}});
    {
        core::ExecuteReport refused;
        refused.success = false;
        refused.message = error;
        finish_record(refused, "rejected_request");
    }
    if (ack_delivered_) d_.settled.close(request_id_);
    std::lock_guard lock(answer_mutex_);
    if (!take_answer()) return;
    if (!invalid_param.empty()) {
        std::string body = core::ExecuteReport::validation_body(invalid_param, error);
        if (streaming_) return reply_->end_stream(std::move(body));
        return reply_->respond(status, std::move(body), false);
    }
    if (streaming_) {
        reply_->end_stream(core::ExecuteReport::looker_body(false, error));
    } else {
        reply_->respond(status, core::ExecuteReport::error_body(error), false);
    }
}

void ExecuteJob::answer(const core::ExecuteReport& report) {
    if (ack_delivered_) d_.settled.close(request_id_);
    std::lock_guard lock(answer_mutex_);
    if (!take_answer()) return;
    if (streaming_) {
        reply_->end_stream(report.body());
    } else {
        reply_->respond(report.status, report.body(), report.retry_after);
    }
}

}  // namespace lsr::server
