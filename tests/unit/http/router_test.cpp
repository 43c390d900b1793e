#include "server/http/router.hpp"

#include <catch2/catch.hpp>

using namespace lsr::server;

namespace {
Handler noop() {
    return [](std::shared_ptr<HttpExchange>) {};
}
}  // namespace

TEST_CASE("router matches literal and parameter segments", "[router]") {
    Router r;
    r.add(http::verb::get, "/healthz", BodyKind::small, noop());
    r.add(http::verb::post, "/actions/{name}", BodyKind::small, noop());
    r.add(http::verb::post, "/actions/{name}/execute", BodyKind::large_file, noop());

    auto m = r.match(http::verb::post, "/actions/segment_event/execute");
    REQUIRE(m.route);
    CHECK(m.route->pattern == "/actions/{name}/execute");
    CHECK(m.route->body == BodyKind::large_file);
    REQUIRE(m.params.size() == 1);
    CHECK(m.params[0] == std::make_pair(std::string("name"), std::string("segment_event")));

    m = r.match(http::verb::post, "/actions/segment_track");
    REQUIRE(m.route);
    CHECK(m.route->pattern == "/actions/{name}");

    CHECK(r.match(http::verb::get, "/healthz").route);
    CHECK(r.match(http::verb::get, "/healthz/").route);  // a trailing slash is the same path
    CHECK_FALSE(r.match(http::verb::get, "/healthz/x").route);
    // Empty segments collapse: "/actions//execute" is "/actions/execute", an action named "execute".
    m = r.match(http::verb::post, "/actions//execute");
    REQUIRE(m.route);
    CHECK(m.route->pattern == "/actions/{name}");
}

TEST_CASE("router tells a wrong method from an unknown path", "[router]") {
    Router r;
    r.add(http::verb::get, "/status", BodyKind::small, noop());
    const auto wrong = r.match(http::verb::post, "/status");
    CHECK_FALSE(wrong.route);
    CHECK(wrong.method_mismatch);
    const auto unknown = r.match(http::verb::get, "/nope");
    CHECK_FALSE(unknown.route);
    CHECK_FALSE(unknown.method_mismatch);
    CHECK(r.match(http::verb::head, "/status").route);  // HEAD is answered like GET
}

TEST_CASE("the root path is its own route", "[router]") {
    Router r;
    r.add(http::verb::post, "/", BodyKind::small, noop());
    CHECK(r.match(http::verb::post, "/").route);
    CHECK_FALSE(r.match(http::verb::post, "/x").route);
}
