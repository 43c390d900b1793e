#include "server/execute_handler.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "server/delivery_dispatcher.hpp"
#include "server/execute_job.hpp"
#include "server/logger.hpp"
#include "server/looker_downloader.hpp"

namespace lsr::server {

namespace {

void write_string(rapidjson::Writer<rapidjson::StringBuffer>& w, std::string_view s) {
    w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

}  // namespace

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
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    w.StartObject();
    w.Key("looker");
    w.StartObject();
    w.Key("success");
    w.Bool(success);
    if (!message.empty()) {
        w.Key("message");
        write_string(w, message);
    }
    w.Key("refresh_query");
    w.Bool(false);
    w.Key("validation_errors");
    w.StartObject();
    w.EndObject();
    w.EndObject();
    w.EndObject();
    return std::string(buf.GetString(), buf.GetSize());
}

std::string ExecuteHandler::error_body(std::string_view error) {
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    w.StartObject();
    w.Key("success");
    w.Bool(false);
    w.Key("error");
    write_string(w, error);
    w.EndObject();
    return std::string(buf.GetString(), buf.GetSize());
}

}  // namespace lsr::server
