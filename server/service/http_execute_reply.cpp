#include "server/service/http_execute_reply.hpp"

#include "core/hub/execute_report.hpp"

namespace lsr::server {

std::string HttpExecuteReply::header(std::string_view name) const {
    return std::string(exchange_->header()[name]);
}

void HttpExecuteReply::on_stop(std::function<void(ExecuteStop)> callback) {
    exchange_->on_interrupt([callback = std::move(callback)](Interruption why) {
        callback(why == Interruption::client_gone ? ExecuteStop::client_gone : ExecuteStop::shutting_down);
    });
}

void HttpExecuteReply::respond(int status, std::string body, bool retry_after) {
    const auto code = static_cast<http::status>(status);
    if (retry_after) {
        exchange_->respond(
            code, std::move(body), "application/json",
            {{http::field::retry_after, std::string(core::ExecuteReport::kRetryAfterSeconds)}});
    } else {
        exchange_->respond(code, std::move(body));
    }
}

void HttpExecuteReply::begin_stream() {
    exchange_->begin_stream(http::status::ok, "application/json");
}

void HttpExecuteReply::keepalive() {
    exchange_->write_chunk("\n");
}

void HttpExecuteReply::end_stream(std::string body) {
    exchange_->end_stream(std::move(body));
}

}  // namespace lsr::server
