// What becomes of a request, decided on its headers alone, before any of its body is read:
// framing that could smuggle a second request, a drain, an unknown route or method, a body
// on a route that takes none, the route's admission check (the token). A request let through
// is either authenticated (its route checked a token) or an unauthenticated body, which the
// connection budget may shed. Pure.
#pragma once

#include <string>

#include "server/http/connection_status.hpp"
#include "server/http/router.hpp"

namespace lsr::server {

struct GateOutcome {
    bool proceed = false;               // read the body (if any) and hand over to the route's handler
    ConnState state = ConnState::busy;  // proceed: what the connection does from now on
    // Otherwise the answer: status, a JSON body, and whether the connection closes after it.
    unsigned status = 0;
    std::string body;
    bool close = false;
};

GateOutcome gate_request(const http::request_header<>& header, bool has_body, bool draining,
                         const Router& router, RouteMatch& match);

}  // namespace lsr::server
