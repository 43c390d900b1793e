#include "server/http/request_framing.hpp"

#include <catch2/catch.hpp>

using namespace lsr::server;

namespace {

http::request_header<> req(std::initializer_list<std::pair<const char*, const char*>> fields,
                           unsigned version = 11) {
    http::request_header<> h;
    h.method(http::verb::post);
    h.target("/");
    h.version(version);
    for (const auto& [k, v] : fields) h.insert(k, v);
    return h;
}

}  // namespace

TEST_CASE("a plain chunked or Content-Length request is fine", "[request_framing]") {
    CHECK_FALSE(check_request_framing(req({{"Content-Length", "10"}})));
    CHECK_FALSE(check_request_framing(req({{"Transfer-Encoding", "chunked"}})));
    CHECK_FALSE(check_request_framing(req({{"Transfer-Encoding", "Chunked"}})));
    CHECK_FALSE(check_request_framing(req({})));
}

TEST_CASE("a final coding other than chunked is 400", "[request_framing]") {
    for (const char* te : {"xchunked", "identity", "chunked, identity", "chunked;x=1", "", " , ", "gzip"}) {
        INFO(te);
        const auto r = check_request_framing(req({{"Transfer-Encoding", te}}));
        REQUIRE(r);
        CHECK(r->status == 400);
    }
}

TEST_CASE("chunked twice, across fields too, is 400", "[request_framing]") {
    auto r = check_request_framing(req({{"Transfer-Encoding", "chunked, chunked"}}));
    REQUIRE(r);
    CHECK(r->status == 400);
    r = check_request_framing(req({{"Transfer-Encoding", "chunked"}, {"Transfer-Encoding", "chunked"}}));
    REQUIRE(r);
    CHECK(r->status == 400);
    // The list spans every Transfer-Encoding field: chunked first, identity last.
    r = check_request_framing(req({{"Transfer-Encoding", "chunked"}, {"Transfer-Encoding", "identity"}}));
    REQUIRE(r);
    CHECK(r->status == 400);
}

TEST_CASE("Transfer-Encoding with Content-Length, or on HTTP/1.0, is 400", "[request_framing]") {
    auto r = check_request_framing(req({{"Transfer-Encoding", "chunked"}, {"Content-Length", "5"}}));
    REQUIRE(r);
    CHECK(r->status == 400);
    r = check_request_framing(req({{"Transfer-Encoding", "chunked"}}, 10));
    REQUIRE(r);
    CHECK(r->status == 400);
}

TEST_CASE("a coding the relay does not implement before chunked is 501", "[request_framing]") {
    const auto r = check_request_framing(req({{"Transfer-Encoding", "gzip, chunked"}}));
    REQUIRE(r);
    CHECK(r->status == 501);
}
