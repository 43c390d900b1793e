// The composition root of `serve`: opens the spool, builds the router, the listener and the
// delivery dispatcher, runs the I/O threads, and drains on SIGTERM/SIGINT: readiness fails
// at once, no new connections, requests in flight get the configured grace, then exit 0.
// A second signal exits at once.
#pragma once

#include <functional>

#include "config/config.hpp"
#include "core/clock.hpp"
#include "server/service/listening_info.hpp"

namespace lsr::server {

class RelayApp {
  public:
    // `clock` is the service's one clock (every part that reads the time is handed it).
    explicit RelayApp(config::Config cfg, const core::Clock& clock = core::Clock::system())
        : cfg_(std::move(cfg)), clock_(clock) {}
    int run();  // blocks until drained; returns the process exit code
    // Called once on the main thread when both listeners are bound, before serving.
    void on_listening(std::function<void(const ListeningInfo&)> f) { on_listening_ = std::move(f); }

  private:
    config::Config cfg_;
    const core::Clock& clock_;
    std::function<void(const ListeningInfo&)> on_listening_;
};

}  // namespace lsr::server
