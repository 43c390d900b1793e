// GET /healthz (alive), /readyz (can accept work), /status (version, uptime, queues, sync
// baselines), /metrics (Prometheus text), /runs and /runs/{id} (the run history,
// runs_routes.hpp). The same routes on every router given (the main listener and the admin
// listener), with one spool probe between them.
#pragma once

#include <boost/asio/thread_pool.hpp>
#include <initializer_list>

#include "core/clock.hpp"
#include "server/http/router.hpp"
#include "server/service/service_context.hpp"

namespace lsr::server {

// `clock` (uptime, ages) must outlive the routers. `reads`: a thread (or a few) for the
// operators' reads of the spool's database (/status's sync figures, /runs), never an io thread
// and never behind the workers' execute jobs; it is joined before the dispatcher, the spool
// and the io_context go.
void register_operator_routes(std::initializer_list<Router*> routers, ServiceContext& ctx,
                              const core::Clock& clock, boost::asio::thread_pool& reads);

}  // namespace lsr::server
