#include "core/hub/execute_payload_scanner.hpp"

#include <catch2/catch.hpp>
#include <string>

#include "core/core_error.hpp"
#include "core/json_limits.hpp"
#include "core/mapping/attachment_decoder.hpp"

using lsr::core::AttachmentDecoder;
using lsr::core::AttachmentInfo;
using lsr::core::ExecutePayloadScanner;
using lsr::core::ExecuteRequest;

namespace {

const std::string kPayload = R"({
  "type": "query",
  "scheduled_plan": {"scheduled_plan_id": 42, "title": "Active users", "type": "Look",
     "url": "https://looker.example/looks/7", "query_id": "q-9", "download_url": null,
     "query": {"model": "m", "vis_config": {"hidden_fields": ["users.secret", "users.other"]}}},
  "attachment": {"mimetype": "application/json", "extension": "json",
                 "data": "{\"data\":[{\"a\":\"x\\\"y\"}],\"pivots\":[{\"data\":{}}]}"},
  "data": {"segment_write_key": "wk_123", "n": 5},
  "form_params": {"event": "Cohort Entered"},
  "state": null
})";

ExecuteRequest scan(const std::string& body, std::size_t chunk, std::error_code* ec_out = nullptr,
                    std::string* message = nullptr) {
    ExecutePayloadScanner scanner;
    std::error_code ec;
    for (std::size_t i = 0; i < body.size() && !ec; i += chunk)
        ec = scanner.feed(std::string_view(body).substr(i, chunk));
    if (!ec) ec = scanner.finish();
    if (ec_out) *ec_out = ec;
    if (message) *message = scanner.error_message();
    return scanner.request();
}

}  // namespace

TEST_CASE("execute payload: envelope fields, ids as strings, hidden fields", "[scanner]") {
    std::error_code ec;
    const ExecuteRequest r = scan(kPayload, kPayload.size(), &ec);
    REQUIRE_FALSE(ec);
    CHECK(r.type_present);
    CHECK(r.type == "query");
    CHECK(r.plan.present);
    CHECK(r.plan.scheduled_plan_id == "42");
    CHECK(r.plan.title == "Active users");
    CHECK(r.plan.type == "Look");
    CHECK(r.plan.query_id == "q-9");
    CHECK(r.plan.download_url.empty());
    CHECK(r.plan.hidden_fields == std::vector<std::string>{"users.secret", "users.other"});
    CHECK(r.params.at("segment_write_key") == "wk_123");
    CHECK(r.params.at("n") == "5");
    CHECK(r.form_params.at("event") == "Cohort Entered");
    CHECK(r.state.empty());
    CHECK(r.attachment.present);
    CHECK(r.attachment.mimetype == "application/json");
    CHECK(r.attachment.extension == "json");
    CHECK(r.attachment.kind == AttachmentInfo::Kind::string);
    CHECK_FALSE(r.attachment.base64());
    const std::string raw =
        kPayload.substr(r.attachment.data_begin, r.attachment.data_end - r.attachment.data_begin);
    CHECK(raw.front() == '"');
    CHECK(raw.back() == '"');
    AttachmentDecoder dec(r.attachment.kind, r.attachment.base64());
    std::string out;
    REQUIRE_FALSE(dec.feed(raw, out));
    REQUIRE_FALSE(dec.finish(out));
    CHECK(out == R"({"data":[{"a":"x\"y"}],"pivots":[{"data":{}}]})");
}

TEST_CASE("execute payload: every chunk size gives the same request", "[scanner]") {
    const ExecuteRequest whole = scan(kPayload, kPayload.size());
    for (std::size_t chunk = 1; chunk <= 17; ++chunk) {
        std::error_code ec;
        const ExecuteRequest r = scan(kPayload, chunk, &ec);
        REQUIRE_FALSE(ec);
        CHECK(r.type == whole.type);
        CHECK(r.plan.scheduled_plan_id == whole.plan.scheduled_plan_id);
        CHECK(r.plan.hidden_fields == whole.plan.hidden_fields);
        CHECK(r.params == whole.params);
        CHECK(r.form_params == whole.form_params);
        CHECK(r.attachment.data_begin == whole.attachment.data_begin);
        CHECK(r.attachment.data_end == whole.attachment.data_end);
        CHECK(r.attachment.mimetype == whole.attachment.mimetype);
    }
}

TEST_CASE("execute payload: an attachment given as an object is kept as a span", "[scanner]") {
    const std::string body =
        R"({"type":"query","attachment":{"data":{"fields":{},"data":[]},"mimetype":"application/json"}})";
    const ExecuteRequest r = scan(body, 3);
    CHECK(r.attachment.kind == AttachmentInfo::Kind::object);
    CHECK(body.substr(r.attachment.data_begin, r.attachment.data_end - r.attachment.data_begin) ==
          R"({"fields":{},"data":[]})");
}

TEST_CASE("execute payload: base64 mimetype and download url", "[scanner]") {
    const std::string body =
        R"({"type":"query","scheduled_plan":{"scheduled_plan_id":"7","download_url":"https://l.example/d/1"},)"
        R"("attachment":{"mimetype":"text/csv;base64","extension":"csv","data":"YSxiCjEsMgo="}})";
    const ExecuteRequest r = scan(body, 5);
    CHECK(r.plan.download_url == "https://l.example/d/1");
    CHECK(r.attachment.base64());
    AttachmentDecoder dec(r.attachment.kind, true);
    std::string out;
    const std::string raw =
        body.substr(r.attachment.data_begin, r.attachment.data_end - r.attachment.data_begin);
    for (char c : raw) REQUIRE_FALSE(dec.feed(std::string_view(&c, 1), out));
    REQUIRE_FALSE(dec.finish(out));
    CHECK(out == "a,b\n1,2\n");
}

TEST_CASE("execute payload: missing type, null type and null attachment", "[scanner]") {
    ExecuteRequest r = scan(R"({"type":null,"attachment":null,"scheduled_plan":null,"data":null})", 4);
    CHECK_FALSE(r.type_present);
    CHECK_FALSE(r.attachment.present);
    CHECK_FALSE(r.plan.present);
    r = scan(R"({})", 1);
    CHECK_FALSE(r.type_present);
}

TEST_CASE("execute payload: invalid bodies give the hub's text", "[scanner]") {
    for (const std::string& body :
         {std::string(""), std::string("not json"), std::string("{\"type\":}"), std::string("[1,2]"),
          std::string("{\"type\":\"query\""), std::string("{\"a\":1}}"), std::string("{\"a\":tru}"),
          std::string("{\"attachment\":{\"data\":\"x}}")}) {
        std::error_code ec;
        std::string message;
        scan(body, 2, &ec, &message);
        INFO(body);
        CHECK(ec);
        CHECK(message == "Request body must be valid JSON.");
    }
}

TEST_CASE("execute payload: the envelope is bounded, the attachment is not", "[scanner]") {
    const std::string big(100000, 'a');
    ExecutePayloadScanner small(1000);
    std::string body = R"({"type":"query","attachment":{"data":")" + big + R"("}})";
    REQUIRE_FALSE(small.feed(body));
    REQUIRE_FALSE(small.finish());
    CHECK(small.request().attachment.data_end - small.request().attachment.data_begin == big.size() + 2);

    ExecutePayloadScanner limited(1000);
    body = R"({"type":"query","state":")" + big + R"("})";
    CHECK(limited.feed(body));
    CHECK_FALSE(limited.error_message().empty());
}

TEST_CASE("execute payload: deep nesting is refused, not recursed", "[scanner]") {
    std::string body = "{\"x\":" + std::string(5000, '[') + std::string(5000, ']') + "}";
    std::error_code ec;
    scan(body, 64, &ec);
    CHECK(ec);
}

TEST_CASE("execute payload: nesting is bounded by kMaxJsonDepth on any value, root included", "[scanner]") {
    const std::size_t limit = lsr::core::kMaxJsonDepth;
    // The body of the form/execute crash: 150,000 '[' then as many ']'.
    for (const std::string& body : {std::string(150000, '[') + std::string(150000, ']'),
                                    "{\"data\":" + std::string(limit, '[') + std::string(limit, ']') + "}",
                                    "{\"attachment\":{\"data\":" + std::string(limit, '{') + "}}"}) {
        for (std::size_t chunk : {body.size(), std::size_t(4096)}) {
            std::error_code ec;
            std::string message;
            scan(body, chunk, &ec, &message);
            CHECK(ec == lsr::core::CoreError::too_deep);
            CHECK(message == "Request body is nested more than " + std::to_string(limit) + " levels deep.");
        }
    }
    // Just within the limit: the root object and limit-1 arrays.
    std::error_code ec;
    const std::string within = "{\"data\":" + std::string(limit - 1, '[') + std::string(limit - 1, ']') + "}";
    scan(within, within.size(), &ec);
    CHECK_FALSE(ec);
}

TEST_CASE("execute payload: non-string values are kept as their JSON text", "[scanner]") {
    const std::string body = R"({"type":"query","scheduled_plan":{"scheduled_plan_id":18446744073709551615,
        "query_id":-9223372036854775808,"title":true},
        "data":{"a":[1,"x\u0001y",null],"b":{"k":false},"c":0.5,"d":null},"form_params":{"event":12}})";
    std::error_code ec;
    const ExecuteRequest r = scan(body, 7, &ec);
    REQUIRE_FALSE(ec);
    CHECK(r.plan.scheduled_plan_id == "18446744073709551615");  // every digit
    CHECK(r.plan.query_id == "-9223372036854775808");
    CHECK(r.plan.title == "true");
    CHECK(r.params.at("a") == "[1,\"x\\u0001y\",null]");
    CHECK(r.params.at("b") == "{\"k\":false}");
    CHECK(r.params.at("c") == "0.5");
    CHECK(r.params.count("d") == 0);
    CHECK(r.form_params.at("event") == "12");
}
