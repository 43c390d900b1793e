#include "server/http/http_answer.hpp"

#include <catch2/catch.hpp>

using namespace lsr::server;

TEST_CASE("a whole answer has its length, and Connection: close when it ends the connection",
          "[http_answer]") {
    HttpAnswer a;
    a.status = 503;
    a.content_type = "application/json";
    a.head_extra = "Retry-After: 30\r\n";
    a.body = "{}";
    CHECK(a.head(true, false) ==
          "HTTP/1.1 503 Service Unavailable\r\nServer: looker-segment-relay\r\nContent-Type: "
          "application/json\r\n"
          "Retry-After: 30\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}");
    CHECK(a.head(false, true) ==
          "HTTP/1.1 503 Service Unavailable\r\nServer: looker-segment-relay\r\nContent-Type: "
          "application/json\r\n"
          "Retry-After: 30\r\nContent-Length: 2\r\n\r\n");
}

TEST_CASE("a streamed answer is chunked", "[http_answer]") {
    HttpAnswer a;
    a.stream = true;
    CHECK(a.head(false, false) ==
          "HTTP/1.1 200 OK\r\nServer: looker-segment-relay\r\nTransfer-Encoding: chunked\r\n\r\n");
    CHECK(HttpAnswer::chunk("\n", false) == "1\r\n\n\r\n");
    CHECK(HttpAnswer::chunk(std::string(26, 'x'), true) == "1a\r\n" + std::string(26, 'x') + "\r\n0\r\n\r\n");
    CHECK(HttpAnswer::chunk("", false).empty());
    CHECK(HttpAnswer::chunk("", true) == "0\r\n\r\n");
}

TEST_CASE("an error body is JSON, escaped and valid UTF-8 whatever the message holds", "[http_answer]") {
    CHECK(HttpAnswer::error_json("Internal server error.") ==
          R"({"success":false,"error":"Internal server error."})");
    CHECK(HttpAnswer::error_json("Too many connections; try again.").size() == 60);  // the refusal's length
    CHECK(HttpAnswer::error_json("a \"quoted\" \\ line\n\x01 \xff") ==
          "{\"success\":false,\"error\":\"a \\\"quoted\\\" \\\\ line\\n\\u0001 \xef\xbf\xbd\"}");
}
