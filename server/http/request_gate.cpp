#include "server/http/request_gate.hpp"

#include "server/http/http_answer.hpp"
#include "server/http/request_framing.hpp"

namespace lsr::server {

namespace {

GateOutcome refuse(unsigned status, std::string_view message, bool close) {
    GateOutcome out;
    out.status = status;
    out.body = HttpAnswer::error_json(message);
    out.close = close;
    return out;
}

}  // namespace

GateOutcome gate_request(const http::request_header<>& header, bool has_body, bool draining,
                         const Router& router, RouteMatch& match) {
    if (auto refusal = check_request_framing(header)) return refuse(refusal->status, refusal->message, true);
    if (draining) return refuse(503, "The relay is shutting down; send the request again.", true);
    const std::string_view target = header.target();
    match = router.match(header.method(), target.substr(0, target.find('?')));
    // An unread body ends the connection after the answer.
    if (!match.route) {
        if (match.method_mismatch) return refuse(405, "Method not allowed on this path.", has_body);
        return refuse(404, "No such route.", has_body);
    }
    const Route& route = *match.route;
    if (has_body && route.body == BodyKind::none)
        return refuse(413, "This route takes no request body.", true);
    if (route.admit) {
        if (auto refusal = route.admit(header)) {
            GateOutcome out;
            out.status = static_cast<unsigned>(refusal->status);
            out.body = std::move(refusal->body);
            out.close = has_body;
            return out;
        }
    }
    GateOutcome out;
    out.proceed = true;
    // Past its admission check a request is authenticated: never shed for a newcomer.
    out.state = has_body && !route.admit ? ConnState::unauthenticated_body : ConnState::busy;
    return out;
}

}  // namespace lsr::server
