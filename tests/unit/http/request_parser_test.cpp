#include "server/http/request_parser.hpp"

#include <boost/asio/buffer.hpp>
#include <catch2/catch.hpp>
#include <string>

using namespace lsr::server;
namespace http = boost::beast::http;

namespace {

// Feeds `text` in one piece into a buffer bounded like the session's; returns the last error.
boost::beast::error_code feed(RequestParser& p, boost::beast::flat_buffer& b, const std::string& text) {
    boost::beast::error_code ec;
    const auto room = b.max_size() - b.size();
    const auto n = std::min(room, text.size());
    b.commit(boost::asio::buffer_copy(b.prepare(n), boost::asio::buffer(text.data(), n)));
    p.feed(b, ec);
    return ec;
}

const std::string kChunkedHead = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";

}  // namespace

TEST_CASE("a chunked body with a small trailer is read into memory", "[request_parser]") {
    RequestParser p(1024);
    boost::beast::flat_buffer b(1024);
    p.start();
    REQUIRE_FALSE(feed(p, b, kChunkedHead));
    CHECK(p.has_body());
    boost::beast::error_code ec;
    p.begin_body(1000, "", ec);
    REQUIRE_FALSE(ec);
    REQUIRE_FALSE(feed(p, b, "1;a=b\r\n{\r\n1\r\n}\r\n0\r\nX-T: 1\r\n\r\n"));
    CHECK(p.take_body() == "{}");
}

TEST_CASE("the header limit counts the header", "[request_parser]") {
    RequestParser p(256);
    boost::beast::flat_buffer b(256);
    p.start();
    CHECK(feed(p, b, "GET / HTTP/1.1\r\nX: " + std::string(300, 'a') + "\r\n\r\n") ==
          http::error::header_limit);
}

TEST_CASE("chunk extensions add up against the header limit", "[request_parser]") {
    RequestParser p(512);
    boost::beast::flat_buffer b(512);
    p.start();
    REQUIRE_FALSE(feed(p, b, kChunkedHead));
    boost::beast::error_code ec;
    p.begin_body(100000, "", ec);
    boost::beast::error_code last;
    for (int i = 0; i < 10 && last != http::error::header_limit; ++i)
        last = feed(p, b, "1;e=" + std::string(100, 'x') + "\r\nz\r\n");
    CHECK(last == http::error::header_limit);
}

TEST_CASE("trailers add up against the header limit with the header", "[request_parser]") {
    RequestParser p(512);
    boost::beast::flat_buffer b(512);
    p.start();
    REQUIRE_FALSE(feed(p, b, kChunkedHead));  // about 60 bytes
    boost::beast::error_code ec;
    p.begin_body(100000, "", ec);
    // A trailer block that fits the buffer on its own, but not with the header.
    std::string trailers;
    for (int i = 0; i < 5; ++i) trailers += "X-T" + std::to_string(i) + ": " + std::string(90, 't') + "\r\n";
    CHECK(feed(p, b, "1\r\nz\r\n0\r\n" + trailers + "\r\n") == http::error::header_limit);
}

TEST_CASE("a trailer block larger than the buffer never completes", "[request_parser]") {
    RequestParser p(512);
    boost::beast::flat_buffer b(512);
    p.start();
    REQUIRE_FALSE(feed(p, b, kChunkedHead));
    boost::beast::error_code ec;
    p.begin_body(100000, "", ec);
    CHECK(feed(p, b, "0\r\n" + std::string(2000, 'a')) == http::error::need_more);
    CHECK(b.size() == b.max_size());  // the session answers 431 when the full buffer needs more
}
