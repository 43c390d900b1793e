// What an execute job needs of the service, filled in by server/service (the composition
// root). Non-owning: whoever hands it to jobs keeps it, and what it names, alive.
#pragma once

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <functional>
#include <memory>
#include <string>

#include "config/config.hpp"
#include "core/clock.hpp"

namespace lsr::server {

class IngestMetrics;
class Logger;
class SettledLedger;
class Spool;
class SyncStore;

struct ExecuteDeps {
    const config::Config& config;
    Logger& log;
    IngestMetrics& metrics;
    const core::Clock& clock;
    boost::asio::io_context& io;           // downloads and the ack wait's poll
    boost::asio::any_io_executor workers;  // CPU work: scanning, reading, mapping, spooling
    Spool& spool;
    const std::atomic<bool>& draining;  // true once the relay drains (SIGTERM)
    SettledLedger& settled;             // what delivery settled, for ack: delivered
    // New batches of `write_key` are in the spool: delivery should look now.
    std::function<void(const std::string& write_key)> spooled;
    // The TLS client context for downloads; null (with the reason) when https is unavailable.
    std::shared_ptr<boost::asio::ssl::context> download_tls;
    std::string download_tls_error;
    // Cohort sync's baselines and the run history (in the spool's database).
    SyncStore* sync_store = nullptr;
};

}  // namespace lsr::server
