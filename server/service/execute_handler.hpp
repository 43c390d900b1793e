// The execute pipeline's entry for the Action API's /actions/{name}/execute and the plain
// webhook routes: it fills the ingest side's dependencies (server/ingest/execute_deps.hpp)
// from the service context, wires the two notifications between ingest and delivery (new
// batches spooled -> the dispatcher looks now; a batch settled -> the ack: delivered ledger),
// and runs one ExecuteJob per request, answering through the HTTP exchange.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/hub/execute_report.hpp"
#include "server/http/http_exchange.hpp"
#include "server/ingest/execute_deps.hpp"
#include "server/ingest/execute_source.hpp"
#include "server/ingest/ingest_metrics.hpp"
#include "server/ingest/settled_ledger.hpp"
#include "server/service/service_context.hpp"
#include "server/storage/sync_store.hpp"

namespace lsr::server {

class ExecuteHandler : public std::enable_shared_from_this<ExecuteHandler> {
  public:
    // Installs the dispatcher's settled listener (for ack: delivered), so make one per
    // service and share it between the action and webhook routes.
    static std::shared_ptr<ExecuteHandler> create(ServiceContext& ctx);
    static std::shared_ptr<ExecuteHandler> create(ServiceContext& ctx, const core::Clock& clock);

    void handle(std::shared_ptr<HttpExchange> exchange, ExecuteSource source);

    // The hub's bodies (core::ExecuteReport), for the route handlers.
    static std::string looker_body(bool success, std::string_view message) {
        return core::ExecuteReport::looker_body(success, message);
    }
    static std::string validation_body(std::string_view param, std::string_view problem) {
        return core::ExecuteReport::validation_body(param, problem);
    }
    static std::string error_body(std::string_view error) { return core::ExecuteReport::error_body(error); }

    IngestMetrics& metrics() { return metrics_; }

    ExecuteHandler(ServiceContext& ctx, const core::Clock& clock);

  private:
    IngestMetrics metrics_;
    SettledLedger settled_;
    ExecuteDeps deps_;
    SyncStore sync_store_;
};

}  // namespace lsr::server
