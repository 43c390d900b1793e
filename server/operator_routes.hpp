// GET /healthz (alive), /readyz (can accept work), /status (version, uptime, queues),
// /metrics (Prometheus text).
#pragma once

#include "server/router.hpp"
#include "server/service_context.hpp"

namespace lsr::server {

void register_operator_routes(Router& router, ServiceContext& ctx);

}  // namespace lsr::server
