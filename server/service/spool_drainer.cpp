// GCC 12 reports a false "potential null pointer dereference" inside Asio's executor
// comparison (any_executor::equal_ex); the pragma must precede the includes to reach it.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wnull-dereference"
#endif

#include "server/service/spool_drainer.hpp"

#include <prometheus/registry.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <exception>
#include <memory>
#include <stdexcept>
#include <string_view>

#include "server/delivery/delivery_dispatcher.hpp"
#include "server/net/logger.hpp"
#include "server/net/termination_signals.hpp"
#include "server/storage/spool_error_category.hpp"

namespace lsr::server {

namespace net = boost::asio;

namespace {

// A counter of this drain's own registry, summed over its labels.
std::uint64_t counter_total(const prometheus::Registry& registry, std::string_view name) {
    double total = 0;
    for (const auto& family : registry.Collect()) {
        if (family.name != name) continue;
        for (const auto& metric : family.metric) total += metric.counter.value;
    }
    return static_cast<std::uint64_t>(total);
}

// The dispatcher's state machine, a few timers and the signal handler, all on one io
// thread (the caller's): nothing here needs a lock.
class DrainRun {
  public:
    DrainRun(const config::Config& cfg, Spool& spool, Logger& log, const core::Clock& clock,
             const SpoolDrainer::Options& options, const SpoolDrainer::Progress& progress)
        : cfg_(cfg),
          spool_(spool),
          log_(log),
          clock_(clock),
          options_(options),
          progress_(progress),
          started_(clock.steady()),
          check_timer_(io_),
          progress_timer_(io_),
          timeout_timer_(io_),
          signals_(io_, signals_error_) {}

    // Throws when the delivery cannot be set up (e.g. an unreadable segment.ca_file).
    void build() {
        if (signals_error_)
            throw std::runtime_error("cannot watch for SIGTERM and SIGINT: " + signals_error_.message());
        dispatcher_ = std::make_unique<DeliveryDispatcher>(io_, cfg_.segment, cfg_.spool, spool_, log_,
                                                           registry_, clock_);
    }

    DrainResult run(const SpoolStats& first) {
        last_ = first;
        signals_.async_wait([this](const boost::system::error_code& ec, int signo) { on_signal(ec, signo); });
        dispatcher_->start();
        arm_check();
        arm_progress();
        if (options_.timeout_ms > 0) {
            timeout_timer_.expires_after(std::chrono::milliseconds(options_.timeout_ms));
            timeout_timer_.async_wait([this](const boost::system::error_code& ec) {
                if (!ec) stop(DrainEnd::timed_out);
            });
        }
        io_.run();
        // The dispatcher stopped: nothing is in flight and no io thread runs; the spool is
        // read here, on the caller's thread.
        DrainResult result;
        result.end = end_;
        result.signal = signal_;
        result.figures = figures(spool_.stats());
        if (result.figures.spool.batches == 0) result.end = DrainEnd::drained;
        return result;
    }

  private:
    DrainFigures figures(const SpoolStats& stats) const {
        DrainFigures f;
        f.spool = stats;
        f.delivered_events = counter_total(registry_, "lsr_delivered_events_total");
        f.dead_lettered_events = counter_total(registry_, "lsr_dead_lettered_events_total");
        f.elapsed_ms =
            std::chrono::duration_cast<std::chrono::milliseconds>(clock_.steady() - started_).count();
        return f;
    }

    void on_signal(const boost::system::error_code& ec, int signo) {
        if (ec) return;
        if (stopping_) {
            log_.warn("second signal: exiting now", {{"signal", static_cast<std::int64_t>(signo)}});
            std::_Exit(3);
        }
        signal_ = signo;
        log_.info("drain interrupted", {{"signal", static_cast<std::int64_t>(signo)}});
        stop(DrainEnd::signalled);
        signals_.async_wait([this](const boost::system::error_code& e, int s) { on_signal(e, s); });
    }

    // How often the queue is looked at: the spool's poll interval, within [100 ms, 1 s].
    std::chrono::milliseconds check_interval() const {
        return std::chrono::milliseconds(std::clamp<std::uint32_t>(cfg_.spool.poll_interval_ms, 100, 1000));
    }

    void arm_check() {
        check_timer_.expires_after(check_interval());
        check_timer_.async_wait([this](const boost::system::error_code& ec) {
            if (ec || stopping_) return;
            // The spool's figures are read on the dispatcher's spool thread, never on this one.
            dispatcher_->read_status([this](const SpoolStats& stats, const std::string&) {
                last_ = stats;
                if (stopping_) return;
                if (stats.batches == 0) return stop(DrainEnd::drained);
                arm_check();
            });
        });
    }

    void arm_progress() {
        if (options_.progress_every_ms <= 0) return;
        progress_timer_.expires_after(std::chrono::milliseconds(options_.progress_every_ms));
        progress_timer_.async_wait([this](const boost::system::error_code& ec) {
            if (ec || stopping_) return;
            if (progress_) progress_(figures(last_));
            arm_progress();
        });
    }

    // As serve's drain: no new leases, the requests in flight finish or time out, leased
    // batches stay in the spool; then the io context ends.
    void stop(DrainEnd why) {
        if (stopping_) return;
        stopping_ = true;
        end_ = why;
        check_timer_.cancel();
        progress_timer_.cancel();
        timeout_timer_.cancel();
        dispatcher_->stop([this] {
            signals_.cancel();
            io_.stop();
        });
    }

    const config::Config& cfg_;
    Spool& spool_;
    Logger& log_;
    const core::Clock& clock_;
    const SpoolDrainer::Options& options_;
    const SpoolDrainer::Progress& progress_;
    const core::Clock::Steady started_;
    prometheus::Registry registry_;
    net::io_context io_{1};
    net::steady_timer check_timer_;
    net::steady_timer progress_timer_;
    net::steady_timer timeout_timer_;
    std::error_code signals_error_;  // declared before signals_, which sets it
    TerminationSignals signals_;
    std::unique_ptr<DeliveryDispatcher> dispatcher_;  // destroyed first: it uses io_ and registry_
    SpoolStats last_;
    bool stopping_ = false;
    DrainEnd end_ = DrainEnd::drained;
    int signal_ = 0;
};

}  // namespace

DrainResult SpoolDrainer::run(const Options& options, const Progress& progress) {
    // Before any thread starts: SIGTERM and SIGINT then reach only the drain's signalfd read.
    TerminationSignals::block();
    DrainResult result;
    SpoolOpenOptions open_options;
    open_options.create = false;    // a wrong path is an error, not a new empty spool
    open_options.exclusive = true;  // serve's lock: never beside a relay on the same spool
    open_options.clock = &clock_;
    std::error_code ec;
    std::string message;
    auto spool = Spool::open(cfg_.spool, open_options, ec, message);
    if (!spool) {
        result.end = DrainEnd::cannot_open;
        result.error = message.empty() ? ec.message() : message;
        result.locked = ec == make_error_code(SpoolErrc::locked);
        log_.error("cannot open the spool", {{"path", cfg_.spool.path}, {"error", result.error}});
        return result;
    }
    const SpoolStats first = spool->stats();
    log_.info("drain started", {{"spool", cfg_.spool.path},
                                {"batches", static_cast<std::int64_t>(first.batches)},
                                {"events", static_cast<std::int64_t>(first.events)},
                                {"dead_letters", static_cast<std::int64_t>(first.dead_letters)}});
    result.figures.spool = first;
    if (progress) progress(result.figures);
    if (first.batches == 0) {
        log_.info("drain finished", {{"batches", std::int64_t{0}}});
        return result;
    }
    DrainRun drain(cfg_, *spool, log_, clock_, options, progress);
    try {
        drain.build();
    } catch (const std::exception& e) {
        result.end = DrainEnd::cannot_open;
        result.error = std::string("cannot set up delivery to Segment: ") + e.what();
        log_.error("cannot set up delivery to Segment", {{"error", e.what()}});
        return result;
    }
    result = drain.run(first);
    log_.info("drain finished",
              {{"batches", static_cast<std::int64_t>(result.figures.spool.batches)},
               {"delivered_events", static_cast<std::int64_t>(result.figures.delivered_events)},
               {"dead_lettered_events", static_cast<std::int64_t>(result.figures.dead_lettered_events)}});
    return result;
}

}  // namespace lsr::server
