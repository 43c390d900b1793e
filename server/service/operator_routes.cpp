#include "server/service/operator_routes.hpp"

#include <prometheus/text_serializer.h>

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <iterator>
#include <string>

#include "core/clock.hpp"
#include "core/json_out.hpp"
#include "server/delivery/delivery_dispatcher.hpp"
#include "server/service/build_info.hpp"
#include "server/service/process_collector.hpp"
#include "server/service/runs_routes.hpp"
#include "server/storage/spool.hpp"
#include "server/storage/spool_probe.hpp"
#include "server/storage/sync_store.hpp"

namespace lsr::server {

namespace {

template <class Integer>
void number(core::JsonOut& out, std::string_view key, Integer value) {
    out.key(key);
    out.raw(std::to_string(value));
}

// `s`: the spool's figures, read for this request off the io threads
// (DeliveryDispatcher::read_status); `sync`: cohort sync's baselines, read just before on the
// operator routes' own thread; `delivery`: the dispatcher's own document.
std::string status_body(const ServiceContext& ctx, const core::Clock& clock, const SpoolStats& s,
                        const SyncTotals& sync, const std::string& delivery) {
    const auto uptime =
        std::chrono::duration_cast<std::chrono::seconds>(clock.steady() - ctx.started).count();
    const std::int64_t oldest_age_ms = s.oldest_created_ms > 0 ? clock.unix_ms() - s.oldest_created_ms : 0;
    std::string body;
    core::JsonOut out(body);
    out.raw('{');
    out.key("service");
    out.string("looker-segment-relay");
    out.raw(',');
    out.key("version");
    out.string(LSR_VERSION);
    out.raw(',');
    number(out, "uptime_s", uptime);
    out.raw(',');
    out.key("draining");
    out.raw(ctx.draining.load() ? "true" : "false");
    out.raw(',');
    out.key("ack");
    out.string(ctx.config.delivery.ack == config::AckMode::spooled ? "spooled" : "delivered");
    out.raw(',');
    out.key("queue");
    out.raw('{');
    number(out, "batches", s.batches);
    out.raw(',');
    number(out, "events", s.events);
    out.raw(',');
    number(out, "bytes", s.bytes);
    out.raw(',');
    number(out, "oldest_event_age_s", oldest_age_ms / 1000);
    out.raw(',');
    number(out, "spool_file_bytes", s.file_bytes);
    out.raw(',');
    number(out, "spool_max_bytes", ctx.config.spool.max_bytes);
    out.raw(',');
    number(out, "dead_letters", s.dead_letters);
    out.raw(',');
    number(out, "dead_letter_events", s.dead_letter_events);
    out.raw("},");
    out.key("sync");
    out.raw('{');
    number(out, "baselines", sync.baselines);
    out.raw(',');
    number(out, "rows", sync.rows);
    out.raw(',');
    number(out, "bytes", sync.bytes);
    out.raw("},");
    out.key("delivery");
    out.raw(delivery);
    out.raw('}');
    return body;
}

void add_routes(Router& router, ServiceContext& ctx, const core::Clock& clock,
                const std::shared_ptr<SpoolProbe>& probe, const std::shared_ptr<ProcessCollector>& process,
                boost::asio::thread_pool& reads) {
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
    // Live figures (operators read /status right after their own actions): the baselines'
    // size on the operator routes' thread, then the queue on the dispatcher's spool thread:
    // SQLite never runs on an io thread. The answer goes from there.
    router.add(http::verb::get, "/status", BodyKind::none,
               [&ctx, &clock, &reads](std::shared_ptr<HttpExchange> ex) {
                   boost::asio::post(reads, [&ctx, &clock, ex] {
                       const SyncTotals sync = SyncStore(ctx.spool).totals();
                       ctx.dispatcher.read_status(
                           [&ctx, &clock, ex, sync](const SpoolStats& spool, const std::string& delivery) {
                               ex->respond(http::status::ok, status_body(ctx, clock, spool, sync, delivery));
                           });
                   });
               });
    // The registry's families, then the process figures read from /proc for this scrape.
    router.add(http::verb::get, "/metrics", BodyKind::none,
               [&ctx, process](std::shared_ptr<HttpExchange> ex) {
                   auto families = ctx.registry.Collect();
                   auto figures = process->Collect();
                   families.insert(families.end(), std::make_move_iterator(figures.begin()),
                                   std::make_move_iterator(figures.end()));
                   const prometheus::TextSerializer serializer;
                   ex->respond(http::status::ok, serializer.Serialize(families),
                               "text/plain; version=0.0.4; charset=utf-8");
               });
}

}  // namespace

void register_operator_routes(std::initializer_list<Router*> routers, ServiceContext& ctx,
                              const core::Clock& clock, boost::asio::thread_pool& reads) {
    // Refreshed on its own thread, 4 times a second: Kubernetes probes never wait on SQLite
    // (an append's fsync, an operator tool's write lock) on an I/O thread.
    auto probe = std::make_shared<SpoolProbe>(ctx.spool, std::chrono::milliseconds(250));
    // Only the serving process exports these: what runs and its own figures.
    BuildInfo::add_to(ctx.registry);
    auto process = std::make_shared<ProcessCollector>("/proc");
    // The run history: with a hub token on the main listener (the first), open on the admin one.
    auto token = std::make_shared<const core::HubToken>(ctx.config.hub.secret, ctx.config.hub.tokens);
    bool main_listener = true;
    for (Router* r : routers) {
        add_routes(*r, ctx, clock, probe, process, reads);
        add_runs_routes(*r, ctx, reads, main_listener ? token : nullptr);
        main_listener = false;
    }
}

}  // namespace lsr::server
