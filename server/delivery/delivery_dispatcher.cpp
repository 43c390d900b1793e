// GCC 12 reports a false "potential null pointer dereference" inside Asio's executor
// comparison (any_executor::equal_ex); the pragma must precede the includes to reach it.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wnull-dereference"
#endif

#include "server/delivery/delivery_dispatcher.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <optional>
#include <utility>

#include "server/delivery/delivery_dispatcher_impl.hpp"

namespace lsr::server {

namespace asio = boost::asio;

DeliveryDispatcher::Impl::Impl(asio::io_context& io_ctx, const config::SegmentConfig& segment_cfg,
                               const config::SpoolConfig& spool_config, Spool& spool_ref, Logger& logger,
                               prometheus::Registry& registry, const core::Clock& wall_clock)
    : io(io_ctx),
      cfg(segment_cfg),
      spool_cfg(spool_config),
      spool(spool_ref),
      log(logger),
      metrics(registry, spool_config.max_bytes),
      client(io_ctx, segment_cfg, wall_clock),
      backoff(segment_cfg.retry.base_delay_ms, segment_cfg.retry.max_delay_ms),
      strand(asio::make_strand(io_ctx)),
      worker(strand, logger),
      settle_retrier(strand),
      poll_timer(strand),
      clock(wall_clock),
      delivered_timer(strand) {}

void DeliveryDispatcher::Impl::log_exception(const char* where, const char* what) noexcept {
    try {
        log.error("unexpected exception in delivery; carrying on", {{"where", where}, {"error", what}});
    } catch (...) {  // NOLINT(bugprone-empty-catch): nothing left to report with
    }
}

void DeliveryDispatcher::Impl::close() {
    worker.close();
    client.shutdown();
}

// -- stop -----------------------------------------------------------------------------------
void DeliveryDispatcher::Impl::begin_stop(std::function<void()> done) {
    stopping = true;
    stop_done = std::move(done);
    poll_timer.cancel();
    for (auto& [key, q] : queues) {
        q->timer.cancel();
    }
    settle_retrier.cancel_all();  // their batches stay in the spool: sent again after a restart
    delivered_timer.cancel();     // delivered batches waiting for a group are written now
    if (!delivered_writing && !delivered_waiting.empty()) write_delivered();
    log.info("delivery stopping", {{"in_flight", static_cast<std::int64_t>(in_flight)}});
    refresh_status();
    check_stopped();
}

void DeliveryDispatcher::Impl::check_stopped() {
    if (!stopping || in_flight != 0 || worker.pending() != 0 || !released_early.empty() || !stop_done) {
        return;
    }
    auto done = std::exchange(stop_done, nullptr);
    client.shutdown();
    log.info("delivery stopped", {});
    refresh_status();
    asio::post(io, std::move(done));
}

// -- status ---------------------------------------------------------------------------------
void DeliveryDispatcher::Impl::refresh_status() {
    std::vector<const core::WriteKeyQueue*> keys;
    keys.reserve(queues.size());
    for (const auto& [key, q] : queues) {
        keys.push_back(&q->state);
    }
    const std::string endpoint = client.endpoint().url();
    DeliveryStatus::Overview o;
    o.stopping = stopping;
    o.in_flight = in_flight;
    o.endpoint = endpoint;
    o.spool = &last_stats;
    o.now_ms = clock.unix_ms();
    status_doc.publish(o, keys);
}

void DeliveryDispatcher::Impl::read_status(StatusHandler done) {
    if (worker.closed()) {
        return done(last_stats, status_doc.json());
    }
    on_spool([self = shared_from_this()] { return std::optional<SpoolStats>(self->spool.stats()); },
             [self = shared_from_this(), done = std::move(done)](std::optional<SpoolStats> stats) {
                 done(stats ? *stats : self->last_stats, self->status_doc.json());
             });
}

DeliveryDispatcher::DeliveryDispatcher(asio::io_context& io, const config::SegmentConfig& cfg,
                                       const config::SpoolConfig& spool_cfg, Spool& spool, Logger& log,
                                       prometheus::Registry& registry, const core::Clock& clock)
    : impl_(std::make_shared<Impl>(io, cfg, spool_cfg, spool, log, registry, clock)) {}

DeliveryDispatcher::~DeliveryDispatcher() {
    impl_->close();
}

void DeliveryDispatcher::start() {
    asio::dispatch(impl_->strand, [self = impl_] {
        self->guard("start", [&] {
            self->log.info("delivery started",
                           {{"endpoint", self->client.endpoint().url()},
                            {"region", self->cfg.region},
                            {"max_connections", static_cast<std::int64_t>(self->cfg.max_connections)}});
            self->do_poll(true);
        });
    });
}

void DeliveryDispatcher::notify(std::string_view write_key) {
    asio::post(impl_->strand, [self = impl_, key = std::string(write_key)] {
        self->guard("notify", [&] {
            if (self->stopping) {
                return;
            }
            self->queue(key).state.hint_due(self->clock.unix_ms());
            self->pump(key);
        });
    });
}

void DeliveryDispatcher::stop(std::function<void()> done) {
    asio::dispatch(impl_->strand, [self = impl_, done = std::move(done)]() mutable {
        self->guard("stop", [&] { self->begin_stop(std::move(done)); });
    });
}

void DeliveryDispatcher::set_settled_listener(std::function<void(const BatchSettled&)> listener) {
    asio::dispatch(impl_->strand,
                   [self = impl_, l = std::move(listener)]() mutable { self->listener = std::move(l); });
}

std::string DeliveryDispatcher::status_json() {
    return impl_->status_doc.json();
}

void DeliveryDispatcher::read_status(StatusHandler done) {
    asio::dispatch(impl_->strand, [self = impl_, done = std::move(done)]() mutable {
        self->guard("status", [&] { self->read_status(std::move(done)); });
    });
}

void DeliveryDispatcher::set_settle_fault_for_testing(std::function<bool(std::string_view op)> fail) {
    impl_->settle_fault = std::move(fail);
}

void DeliveryDispatcher::set_jitter_for_testing(std::function<double()> uniform) {
    impl_->backoff = core::BackoffPolicy(impl_->cfg.retry.base_delay_ms, impl_->cfg.retry.max_delay_ms,
                                         std::move(uniform));
}

}  // namespace lsr::server
