// The composition root of `serve`: opens the spool, builds the router, the listener and the
// delivery dispatcher, runs the I/O threads, and drains on SIGTERM/SIGINT: readiness fails
// at once, no new connections, requests in flight get the configured grace, then exit 0.
// A second signal exits at once.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "config/config.hpp"
#include "core/clock.hpp"

namespace lsr::server {

// Where the relay ended up listening, once it does (ports as bound: a port 0 in the config
// is the one the kernel gave).
struct ListeningInfo {
    std::string listen_host;
    std::uint16_t port = 0;
    std::string admin_host;  // empty: no admin listener
    std::uint16_t admin_port = 0;
    bool tls = false;
    std::string base_url;            // the Action Hub URL advertised to Looker
    bool base_url_followed = false;  // hub.base_url not set: base_url follows the listener
    bool wildcard_host = false;      // followed from 0.0.0.0 / ::, shown as 127.0.0.1
};

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
