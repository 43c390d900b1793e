// The Action API as the public Action Hub answers it (reference §1.1-1.5): POST / (the
// actions list, filtered by the caller's Looker version), POST /actions/{name} (one
// definition), POST /actions/{name}/execute (the execute pipeline), POST /actions/{name}/form.
// Every route checks `Authorization: Token token="…"` first; anything else is 403
// {"success":false,"error":"Invalid 'Authorization' header."}.
#pragma once

#include <memory>
#include <string>

#include "server/http/router.hpp"
#include "server/service/service_context.hpp"

namespace lsr::server {

class ExecuteHandler;

// `execute` is shared with the webhook routes (one settled listener for ack: delivered).
// `base_url` prefixes every advertised URL: hub.base_url, or the listener's own when unset.
void register_action_routes(Router& router, ServiceContext& ctx, std::shared_ptr<ExecuteHandler> execute,
                            const std::string& base_url);

}  // namespace lsr::server
