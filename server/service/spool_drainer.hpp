// Delivers everything queued in a spool and accepts nothing: the spool opened as `serve`
// opens it (its lock taken, so never beside a running relay), a DeliveryDispatcher built
// from the same configuration (endpoint, write keys' limits, retry and give-up rules), no
// listener. It runs until the queue is empty (dead letters may remain), or a SIGTERM/SIGINT
// or the optional timeout stops it: the dispatcher then stops as in serve's drain, the
// requests in flight finish or time out, and every batch not delivered stays in the spool
// (a lease lives in memory only). A second signal exits at once (the batches stay queued;
// one in flight may reach Segment again later, with the same messageIds).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "config/config.hpp"
#include "core/clock.hpp"
#include "server/storage/spool.hpp"

namespace lsr::server {

class Logger;

// Where a drain stands: the spool's figures, and what this drain did so far.
struct DrainFigures {
    SpoolStats spool;
    std::uint64_t delivered_events = 0;      // accepted by Segment since the drain began
    std::uint64_t dead_lettered_events = 0;  // moved to the dead letters since the drain began
    std::int64_t elapsed_ms = 0;
};

enum class DrainEnd {
    drained,      // nothing queued any more (dead letters may remain)
    cannot_open,  // the spool (or the delivery set-up) could not be opened; nothing touched
    signalled,    // SIGTERM/SIGINT before the queue was empty
    timed_out,    // the timeout ran out before the queue was empty
};

struct DrainResult {
    DrainEnd end = DrainEnd::drained;
    std::string error;     // cannot_open: why, for the operator
    bool locked = false;   // cannot_open because another process holds the spool's lock
    int signal = 0;        // signalled: which one
    DrainFigures figures;  // at the end
};

class SpoolDrainer {
  public:
    struct Options {
        std::int64_t timeout_ms = 0;            // 0: no limit
        std::int64_t progress_every_ms = 5000;  // how often `progress` is called while it runs
    };
    using Progress = std::function<void(const DrainFigures&)>;

    // `log` and `clock` must outlive the drainer.
    SpoolDrainer(config::Config cfg, Logger& log, const core::Clock& clock)
        : cfg_(std::move(cfg)), log_(log), clock_(clock) {}

    // Blocks until the drain ends. `progress` runs on the calling thread: once when the spool
    // is open (the figures it was found with), then every options.progress_every_ms while
    // batches remain.
    DrainResult run(const Options& options, const Progress& progress);

  private:
    config::Config cfg_;
    Logger& log_;
    const core::Clock& clock_;
};

}  // namespace lsr::server
