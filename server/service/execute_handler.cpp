#include "server/service/execute_handler.hpp"

#include "server/delivery/delivery_dispatcher.hpp"
#include "server/ingest/execute_job.hpp"
#include "server/ingest/looker_downloader.hpp"
#include "server/net/logger.hpp"
#include "server/service/http_execute_reply.hpp"

namespace lsr::server {

ExecuteHandler::ExecuteHandler(ServiceContext& ctx, const core::Clock& clock)
    : metrics_(ctx.registry),
      deps_{ctx.config,
            ctx.log,
            metrics_,
            clock,
            ctx.io,
            ctx.workers.get_executor(),
            ctx.spool,
            ctx.draining,
            settled_,
            [&dispatcher = ctx.dispatcher](const std::string& write_key) { dispatcher.notify(write_key); },
            nullptr,
            {}},
      sync_store_(ctx.spool) {
    deps_.sync_store = &sync_store_;
    deps_.download_tls =
        LookerDownloader::make_tls_context(ctx.config.hub.download, deps_.download_tls_error);
}

std::shared_ptr<ExecuteHandler> ExecuteHandler::create(ServiceContext& ctx) {
    return create(ctx, ctx.clock);
}

std::shared_ptr<ExecuteHandler> ExecuteHandler::create(ServiceContext& ctx, const core::Clock& clock) {
    auto handler = std::make_shared<ExecuteHandler>(ctx, clock);
    if (!handler->deps_.download_tls_error.empty()) {
        ctx.log.warn("downloads over https are unavailable", {{"error", handler->deps_.download_tls_error}});
    }
    std::weak_ptr<ExecuteHandler> weak = handler;
    ctx.dispatcher.set_settled_listener([weak](const BatchSettled& settled) {
        if (auto h = weak.lock())
            h->settled_.record(settled.request_id, settled.events, settled.fate == BatchFate::delivered);
    });
    return handler;
}

void ExecuteHandler::handle(std::shared_ptr<HttpExchange> exchange, ExecuteSource source) {
    // The job keeps the handler (and so its dependencies) alive.
    std::shared_ptr<const ExecuteDeps> deps(shared_from_this(), &deps_);
    ExecuteJob::run(std::move(deps), std::make_shared<HttpExecuteReply>(std::move(exchange)),
                    std::move(source));
}

}  // namespace lsr::server
