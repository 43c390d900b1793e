#include "server/service/execute_handler.hpp"

#include "core/text.hpp"
#include "server/delivery/delivery_dispatcher.hpp"
#include "server/ingest/execute_job.hpp"
#include "server/ingest/looker_downloader.hpp"
#include "server/net/logger.hpp"

namespace lsr::server {

ExecuteHandler::ExecuteHandler(ServiceContext& ctx) : ctx_(ctx), metrics_(ctx.registry) {
    tls_ = LookerDownloader::make_tls_context(ctx.config.hub.download, tls_error_);
}

std::shared_ptr<ExecuteHandler> ExecuteHandler::create(ServiceContext& ctx) {
    auto handler = std::make_shared<ExecuteHandler>(ctx);
    if (!handler->tls_error_.empty()) {
        ctx.log.warn("downloads over https are unavailable", {{"error", handler->tls_error_}});
    }
    std::weak_ptr<ExecuteHandler> weak = handler;
    ctx.dispatcher.set_settled_listener([weak](const BatchSettled& settled) {
        if (auto h = weak.lock()) h->on_settled(settled);
    });
    return handler;
}

void ExecuteHandler::handle(std::shared_ptr<HttpExchange> exchange, ExecuteSource source) {
    start_execute_job(shared_from_this(), std::move(exchange), std::move(source));
}

std::shared_ptr<ExecuteHandler::Waiter> ExecuteHandler::add_waiter(const std::string& request_id) {
    auto w = std::make_shared<Waiter>();
    std::lock_guard lock(waiters_mutex_);
    waiters_[request_id] = w;
    return w;
}

void ExecuteHandler::remove_waiter(const std::string& request_id) {
    std::lock_guard lock(waiters_mutex_);
    waiters_.erase(request_id);
}

void ExecuteHandler::on_settled(const BatchSettled& settled) {
    std::shared_ptr<Waiter> w;
    {
        std::lock_guard lock(waiters_mutex_);
        auto it = waiters_.find(settled.request_id);
        if (it == waiters_.end()) return;
        w = it->second;
    }
    std::function<void()> notify;
    {
        std::lock_guard lock(w->mutex);
        ++w->settled_batches;
        if (settled.fate == BatchFate::delivered) {
            w->delivered_events += settled.events;
        } else {
            w->dead_events += settled.events;
        }
        notify = w->on_change;
    }
    if (notify) notify();
}

std::string ExecuteHandler::no_type_error() {
    return "No request type specified. The request must be of type: \"query\".";
}

std::string ExecuteHandler::wrong_type_error(std::string_view type) {
    return "This action does not support requests of type \"" + std::string(type) +
           "\". The request must be of type: \"query\".";
}

std::string ExecuteHandler::missing_param_error(std::string_view label) {
    return "Required setting \"" + std::string(label) + "\" not specified in action settings.";
}

std::string ExecuteHandler::no_data_error() {
    return "A streaming action was sent incompatible data. The action must have a download url or an "
           "attachment.";
}

std::string ExecuteHandler::looker_body(bool success, std::string_view message) {
    return looker_answer(success, message, {}, {});
}

std::string ExecuteHandler::validation_body(std::string_view param, std::string_view problem) {
    return looker_answer(false, problem, param, problem);
}

// Written by hand through core::append_json_string, so every answer is valid UTF-8 whatever
// bytes a request value (echoed in a message) held.
std::string ExecuteHandler::looker_answer(bool success, std::string_view message, std::string_view param,
                                          std::string_view problem) {
    std::string out = "{\"looker\":{\"success\":";
    out += success ? "true" : "false";
    if (!message.empty()) {
        out += ",\"message\":";
        core::append_json_string(out, message);
    }
    out += ",\"refresh_query\":false,\"validation_errors\":{";
    if (!param.empty()) {
        core::append_json_string(out, param);
        out += ':';
        core::append_json_string(out, problem);
    }
    out += "}}}";
    return out;
}

std::string ExecuteHandler::error_body(std::string_view error) {
    std::string out = "{\"success\":false,\"error\":";
    core::append_json_string(out, error);
    out += '}';
    return out;
}

}  // namespace lsr::server
