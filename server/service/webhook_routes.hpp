// Plain Looker webhook destinations (DESIGN §2.2, reference §1.9): one POST route per
// config webhooks[] entry, authenticated by `X-Looker-Webhook-Token` (constant time); the
// write key, the Segment call and the identity columns come from the route's config. The
// body goes through the same execute pipeline as the Action API.
#pragma once

#include <memory>

#include "server/http/router.hpp"
#include "server/service/service_context.hpp"

namespace lsr::server {

class ExecuteHandler;

void register_webhook_routes(Router& router, ServiceContext& ctx, std::shared_ptr<ExecuteHandler> execute);

}  // namespace lsr::server
