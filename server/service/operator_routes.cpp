#include "server/service/operator_routes.hpp"

#include <prometheus/text_serializer.h>

#include <chrono>
#include <string>

#include "server/delivery/delivery_dispatcher.hpp"
#include "server/storage/spool.hpp"
#include "server/storage/spool_probe.hpp"

namespace lsr::server {

namespace {

std::int64_t now_ms() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::string status_body(ServiceContext& ctx) {
    const auto uptime =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - ctx.started)
            .count();
    const SpoolStats s = ctx.spool.stats();  // live: operators read it after their own actions
    const std::int64_t oldest_age_ms = s.oldest_created_ms > 0 ? now_ms() - s.oldest_created_ms : 0;
    std::string out = "{\"service\":\"looker-segment-relay\",\"version\":\"" LSR_VERSION "\"";
    out += ",\"uptime_s\":" + std::to_string(uptime);
    out += ",\"draining\":" + std::string(ctx.draining.load() ? "true" : "false");
    out += ",\"ack\":\"" +
           std::string(ctx.config.delivery.ack == config::AckMode::spooled ? "spooled" : "delivered") + "\"";
    out += ",\"queue\":{\"batches\":" + std::to_string(s.batches);
    out += ",\"events\":" + std::to_string(s.events);
    out += ",\"bytes\":" + std::to_string(s.bytes);
    out += ",\"oldest_event_age_s\":" + std::to_string(oldest_age_ms / 1000);
    out += ",\"spool_file_bytes\":" + std::to_string(s.file_bytes);
    out += ",\"spool_max_bytes\":" + std::to_string(ctx.config.spool.max_bytes);
    out += ",\"dead_letters\":" + std::to_string(s.dead_letters);
    out += ",\"dead_letter_events\":" + std::to_string(s.dead_letter_events) + "}";
    out += ",\"delivery\":" + ctx.dispatcher.status_json();
    out += "}";
    return out;
}

void add_routes(Router& router, ServiceContext& ctx, const std::shared_ptr<SpoolProbe>& probe) {
    router.add(http::verb::get, "/healthz", BodyKind::none,
               [](std::shared_ptr<HttpExchange> ex) { ex->respond(http::status::ok, R"({"status":"ok"})"); });
    router.add(http::verb::get, "/readyz", BodyKind::none, [&ctx, probe](std::shared_ptr<HttpExchange> ex) {
        if (ctx.draining.load())
            return ex->respond(http::status::service_unavailable, R"({"ready":false,"reason":"draining"})");
        if (!probe->latest().writable)
            return ex->respond(http::status::service_unavailable,
                               R"({"ready":false,"reason":"spool not writable"})");
        ex->respond(http::status::ok, R"({"ready":true})");
    });
    router.add(http::verb::get, "/status", BodyKind::none,
               [&ctx](std::shared_ptr<HttpExchange> ex) { ex->respond(http::status::ok, status_body(ctx)); });
    router.add(http::verb::get, "/metrics", BodyKind::none, [&ctx](std::shared_ptr<HttpExchange> ex) {
        const prometheus::TextSerializer serializer;
        ex->respond(http::status::ok, serializer.Serialize(ctx.registry.Collect()),
                    "text/plain; version=0.0.4; charset=utf-8");
    });
}

}  // namespace

void register_operator_routes(std::initializer_list<Router*> routers, ServiceContext& ctx) {
    // Refreshed on its own thread, 4 times a second: Kubernetes probes never wait on SQLite
    // (an append's fsync, an operator tool's write lock) on an I/O thread.
    auto probe = std::make_shared<SpoolProbe>(ctx.spool, std::chrono::milliseconds(250));
    for (Router* r : routers) add_routes(*r, ctx, probe);
}

}  // namespace lsr::server
