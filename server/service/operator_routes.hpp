// GET /healthz (alive), /readyz (can accept work), /status (version, uptime, queues),
// /metrics (Prometheus text). The same routes on every router given (the main listener and the
// admin listener), with one spool probe between them.
#pragma once

#include <initializer_list>

#include "core/clock.hpp"
#include "server/http/router.hpp"
#include "server/service/service_context.hpp"

namespace lsr::server {

// `clock` (uptime, ages) must outlive the routers.
void register_operator_routes(std::initializer_list<Router*> routers, ServiceContext& ctx,
                              const core::Clock& clock);

}  // namespace lsr::server
