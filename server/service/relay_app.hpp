// The composition root of `serve`: opens the spool, builds the router, the listener and the
// delivery dispatcher, runs the I/O threads, and drains on SIGTERM/SIGINT: readiness fails
// at once, no new connections, requests in flight get the configured grace, then exit 0.
// A second signal exits at once.
#pragma once

#include "config/config.hpp"

namespace lsr::server {

class RelayApp {
  public:
    explicit RelayApp(config::Config cfg) : cfg_(std::move(cfg)) {}
    int run();  // blocks until drained; returns the process exit code

  private:
    config::Config cfg_;
};

}  // namespace lsr::server
