// What route handlers get from the composition root (RelayApp). Non-owning.
#pragma once

#include <prometheus/registry.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>

#include "config/config.hpp"
#include "core/clock.hpp"

namespace lsr::server {

class Logger;
class Spool;
class DeliveryDispatcher;

struct ServiceContext {
    const config::Config& config;
    Logger& log;
    prometheus::Registry& registry;
    boost::asio::io_context& io;        // network I/O threads
    boost::asio::thread_pool& workers;  // CPU work: parsing and mapping payloads
    Spool& spool;
    DeliveryDispatcher& dispatcher;
    const std::atomic<bool>& draining;  // true once SIGTERM arrived
    std::chrono::steady_clock::time_point started;
    const core::Clock& clock;  // the service's one clock
};

}  // namespace lsr::server
