#include "server/http/request_gate.hpp"

#include <catch2/catch.hpp>

using namespace lsr::server;

namespace {

Router routes() {
    Router r;
    auto noop = [](std::shared_ptr<HttpExchange>) {};
    r.add(http::verb::get, "/healthz", BodyKind::none, noop);
    r.add(http::verb::post, "/open", BodyKind::small, noop);  // no admission check
    r.add(http::verb::post, "/actions/{name}/execute", BodyKind::large_file, noop,
          [](const http::request_header<>& h) -> std::optional<Refusal> {
              if (h["Authorization"] == "good") return std::nullopt;
              return Refusal{http::status::forbidden, R"({"success":false})"};
          });
    return r;
}

http::request_header<> req(http::verb method, const char* target, const char* auth = nullptr) {
    http::request_header<> h;
    h.method(method);
    h.target(target);
    h.version(11);
    if (auth) h.set("Authorization", auth);
    return h;
}

}  // namespace

TEST_CASE("an authenticated request proceeds and is never shed", "[request_gate]") {
    const Router r = routes();
    RouteMatch m;
    const auto g = gate_request(req(http::verb::post, "/actions/a/execute", "good"), true, false, r, m);
    CHECK(g.proceed);
    CHECK(g.state == ConnState::busy);
    REQUIRE(m.route);
    CHECK(m.route->pattern == "/actions/{name}/execute");
}

TEST_CASE("a bad token is answered from the headers; an unread body closes the connection",
          "[request_gate]") {
    const Router r = routes();
    RouteMatch m;
    auto g = gate_request(req(http::verb::post, "/actions/a/execute", "bad"), true, false, r, m);
    CHECK_FALSE(g.proceed);
    CHECK(g.status == 403);
    CHECK(g.close);
    g = gate_request(req(http::verb::post, "/actions/a/execute", "bad"), false, false, r, m);
    CHECK_FALSE(g.close);
}

TEST_CASE("a body on a route that takes none is refused unread", "[request_gate]") {
    const Router r = routes();
    RouteMatch m;
    auto g = gate_request(req(http::verb::get, "/healthz"), true, false, r, m);
    CHECK_FALSE(g.proceed);
    CHECK(g.status == 413);
    CHECK(g.close);
    g = gate_request(req(http::verb::get, "/healthz"), false, false, r, m);
    CHECK(g.proceed);
}

TEST_CASE("a body on a route without an admission check is unauthenticated", "[request_gate]") {
    const Router r = routes();
    RouteMatch m;
    const auto g = gate_request(req(http::verb::post, "/open"), true, false, r, m);
    CHECK(g.proceed);
    CHECK(g.state == ConnState::unauthenticated_body);
}

TEST_CASE("unknown routes, wrong methods, a drain and bad framing are answered", "[request_gate]") {
    const Router r = routes();
    RouteMatch m;
    auto g = gate_request(req(http::verb::get, "/nope"), true, false, r, m);
    CHECK(g.status == 404);
    CHECK(g.close);
    g = gate_request(req(http::verb::post, "/healthz"), false, false, r, m);
    CHECK(g.status == 405);
    CHECK_FALSE(g.close);
    g = gate_request(req(http::verb::get, "/healthz"), false, true, r, m);
    CHECK(g.status == 503);
    auto h = req(http::verb::post, "/actions/a/execute", "good");
    h.set(http::field::transfer_encoding, "xchunked");
    g = gate_request(h, false, false, r, m);
    CHECK(g.status == 400);
    CHECK(g.close);
    CHECK(g.body ==
          R"({"success":false,"error":"The final Transfer-Encoding of a request must be chunked."})");
}
