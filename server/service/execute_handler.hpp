// The execute pipeline (docs/ARCHITECTURE.md steps 2-4 and 6), shared by the Action API's
// /actions/{name}/execute and the plain webhook routes. Per request, on ctx.workers:
// scan the body file, validate in the hub's order (404 {"success":false,"error":…}), pick
// the write key, read the rows from the attachment span or the download_url, map them with
// ResultMapper, pack events with BatchBuilder and append each batch to the Spool, then
// answer {"looker":{…}} with the counts. Long work gets status 200 early and a newline every
// server.execute_keepalive_ms; the answer always ends with a complete JSON body. A full
// spool gives 503 + Retry-After. `ack: delivered` waits (bounded) until Segment settled every
// batch of the request.
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "config/config.hpp"
#include "core/mapping/call_type.hpp"
#include "server/http/http_exchange.hpp"
#include "server/ingest/ingest_metrics.hpp"
#include "server/service/service_context.hpp"

namespace lsr::server {

struct BatchSettled;

// Who sent the request and what it asks for.
struct ExecuteSource {
    std::string label;  // metrics and logs: the action name, or "webhook:<name>"
    core::CallType call = core::CallType::identify;
    bool webhook = false;                           // plain webhook: no type/param checks
    std::string write_key;                          // webhook: from the route
    std::string event;                              // webhook track: from the route
    std::optional<core::IdentityColumns> identity;  // webhook: from the route
};

class ExecuteHandler : public std::enable_shared_from_this<ExecuteHandler> {
  public:
    // Installs the dispatcher's settled listener (for ack: delivered), so make one per
    // service and share it between the action and webhook routes.
    static std::shared_ptr<ExecuteHandler> create(ServiceContext& ctx);

    void handle(std::shared_ptr<HttpExchange> exchange, ExecuteSource source);

    // The hub's validation texts (reference §1.3).
    static std::string no_type_error();
    static std::string wrong_type_error(std::string_view type);
    static std::string missing_param_error(std::string_view label);
    static std::string no_data_error();
    // {"looker":{"success":…,"message":…,"refresh_query":false,"validation_errors":{}}}
    static std::string looker_body(bool success, std::string_view message);
    // A refused setting, in the hub's validation_errors shape: success false, the problem as
    // the message and as validation_errors[param].
    static std::string validation_body(std::string_view param, std::string_view problem);
    // {"success":false,"error":…}
    static std::string error_body(std::string_view error);

    // ack: delivered bookkeeping (public for the pipeline in execute_handler.cpp).
    struct Waiter {
        std::mutex mutex;
        std::uint64_t settled_batches = 0;
        std::uint64_t delivered_events = 0;
        std::uint64_t dead_events = 0;
        std::function<void()> on_change;  // called with `mutex` not held
    };
    std::shared_ptr<Waiter> add_waiter(const std::string& request_id);
    void remove_waiter(const std::string& request_id);

    ServiceContext& ctx() { return ctx_; }
    IngestMetrics& metrics() { return metrics_; }
    const std::shared_ptr<boost::asio::ssl::context>& download_tls() const { return tls_; }
    const std::string& tls_error() const { return tls_error_; }

    explicit ExecuteHandler(ServiceContext& ctx);

  private:
    static std::string looker_answer(bool success, std::string_view message, std::string_view param,
                                     std::string_view problem);
    void on_settled(const BatchSettled& settled);

    ServiceContext& ctx_;
    IngestMetrics metrics_;
    std::shared_ptr<boost::asio::ssl::context> tls_;
    std::string tls_error_;
    std::mutex waiters_mutex_;
    std::map<std::string, std::shared_ptr<Waiter>> waiters_;
};

}  // namespace lsr::server
