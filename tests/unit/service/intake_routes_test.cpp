// What the relay accepts and how it answers: write keys checked
// at intake, JSON depth bounded on every route, results without rows refused, answers
// always valid UTF-8.
#include "core/json_limits.hpp"
#include "core/mapping/event_validator.hpp"
#include "route_test_fixture.hpp"

using lsr::core::EventValidator;

namespace {

std::string execute_with_key(const std::string& key, const std::string& result) {
    return R"({"type":"query","data":{"segment_write_key":)" + quoted(key) +
           R"(},"attachment":{"mimetype":"application/json","extension":"json","data":)" + quoted(result) +
           "}}";
}

}  // namespace

TEST_CASE("Execute refuses a write key Segment could not accept, and spools nothing", "[intake]") {
    Relay relay;
    for (const std::string& key : {std::string(49'200, 'k'), std::string("wk with space"),
                                   std::string("wk\x7f"), std::string("wk\xc3\xa9")}) {
        auto ex = relay.call("/actions/segment_event/execute", execute_with_key(key, json_detail(3)),
                             {{"Authorization", auth()}});
        CHECK(ex->status() == http::status::bad_request);
        const std::string out = ex->out();
        CHECK(out.rfind(R"({"looker":{"success":false,"message":"The Segment write key )", 0) == 0);
        CHECK(out.find(R"("validation_errors":{"segment_write_key":"The Segment write key )") !=
              std::string::npos);
        CHECK(out.find("kkkkkkkk") == std::string::npos);  // the key is never echoed
    }
    auto long_key =
        relay.call("/actions/segment_event/execute",
                   execute_with_key(std::string(49'200, 'k'), json_detail(1)), {{"Authorization", auth()}});
    CHECK(
        long_key->out() ==
        R"({"looker":{"success":false,"message":"The Segment write key is 49200 bytes long; a write key has at most 1024.","refresh_query":false,"validation_errors":{"segment_write_key":"The Segment write key is 49200 bytes long; a write key has at most 1024."}}})");
    CHECK(relay.spool->stats().batches == 0);
    CHECK(relay.spool->stats().events == 0);
}

TEST_CASE("A webhook route's write key is checked by the same rule", "[intake]") {
    // Config validation refuses such a key first; the intake check holds even without it.
    Relay relay([](lsr::config::Config& c) {
        lsr::config::WebhookRoute r;
        r.name = "crm";
        r.path = "/webhooks/crm";
        r.token = "tok-crm";
        r.write_key = std::string(2000, 'w');
        r.identity.user_id = "id";
        c.webhooks.push_back(r);
    });
    auto ex = relay.call(
        "/webhooks/crm",
        R"({"type":"query","attachment":{"mimetype":"text/csv","extension":"csv","data":"id\n1\n"}})",
        {{"X-Looker-Webhook-Token", "tok-crm"}});
    CHECK(ex->status() == http::status::bad_request);
    CHECK(ex->out().find("The Segment write key is 2000 bytes long") != std::string::npos);
    CHECK(relay.spool->stats().batches == 0);
}

TEST_CASE("The form checks the write key it is given", "[intake]") {
    Relay relay;
    auto bad = relay.call("/actions/segment_track/form", R"({"data":{"segment_write_key":"a b"}})",
                          {{"Authorization", auth()}});
    CHECK(bad->status() == http::status::ok);
    CHECK(bad->out() == R"({"error":"The Segment write key contains whitespace (at byte 2)."})");
}

TEST_CASE("JSON nested beyond the limit is a 400 on every JSON route", "[intake]") {
    Relay relay;
    const std::string crash = std::string(150'000, '[') + std::string(150'000, ']');
    const std::string deep_object =
        R"({"type":"query","data":)" + std::string(lsr::core::kMaxJsonDepth, '[') + "]}";
    const std::string expected = R"({"success":false,"error":"Request body is nested more than )" +
                                 std::to_string(lsr::core::kMaxJsonDepth) + R"( levels deep."})";
    for (const char* path : {"/actions/segment_track/form", "/actions/segment_event/execute"}) {
        for (const std::string& body : {crash, deep_object}) {
            auto ex = relay.call(path, body, {{"Authorization", auth()}});
            INFO(path);
            CHECK(ex->status() == http::status::bad_request);
            CHECK(ex->out() == expected);
        }
    }
    // Invalid JSON that is not deep keeps the hub's 404 text.
    auto invalid = relay.call("/actions/segment_track/form", "{", {{"Authorization", auth()}});
    CHECK(invalid->status() == http::status::not_found);
    CHECK(invalid->out() == R"({"success":false,"error":"Request body must be valid JSON."})");
    // A form body of ordinary depth still works.
    auto form = relay.call("/actions/segment_track/form", R"({"data":{"segment_write_key":"k"},"x":[[[1]]]})",
                           {{"Authorization", auth()}});
    CHECK(form->out().rfind(R"({"fields":[{"name":"event")", 0) == 0);
}

TEST_CASE("A result that is not a result is an error, an empty one a success", "[intake]") {
    Relay relay;
    const std::vector<std::pair<std::string, std::string>> refused = {
        {"{}", "The result is not a Looker result: it has no \"data\" array of rows. No rows were accepted."},
        {R"({"data":5})",
         "The result is not a Looker result: its \"data\" is a number, not an array of rows. No rows were "
         "accepted."},
        {R"({"data":{"a":1}})",
         "The result is not a Looker result: its \"data\" is an object, not an array of rows. No rows were "
         "accepted."},
    };
    for (const auto& [result, message] : refused) {
        for (bool as_object : {true, false}) {
            // attachment.data as the object itself, or as a JSON string holding it.
            const std::string body =
                R"({"type":"query","data":{"segment_write_key":"wk"},"attachment":{"mimetype":"application/json","data":)" +
                (as_object ? result : quoted(result)) + "}}";
            auto ex = relay.call("/actions/segment_event/execute", body, {{"Authorization", auth()}});
            INFO(body);
            CHECK(ex->status() == http::status::ok);
            CHECK(ex->out() == ExecuteHandler::looker_body(false, message));
        }
    }
    auto empty = relay.call("/actions/segment_event/execute", execute_with_key("wk", json_detail(0)),
                            {{"Authorization", auth()}});
    CHECK(empty->out() == ExecuteHandler::looker_body(true, "0 rows: 0 accepted, 0 rejected."));
    CHECK(relay.spool->stats().batches == 0);
}

TEST_CASE("Request values with invalid UTF-8 never make an answer invalid UTF-8", "[intake]") {
    Relay relay;
    const std::string bad_type =
        "qu\xff"
        "ery";
    auto ex = relay.call("/actions/segment_event/execute", R"({"type":")" + bad_type + R"("})",
                         {{"Authorization", auth()}});
    CHECK(ex->status() == http::status::not_found);
    CHECK(EventValidator::valid_utf8(ex->out()));
    CHECK(ex->out() ==
          "{\"success\":false,\"error\":\"This action does not support requests of type \\\"qu\xef\xbf\xbd"
          "ery\\\". The request must be of type: \\\"query\\\".\"}");
    auto name = relay.call("/actions/seg\xc3\x28/execute", "{}", {{"Authorization", auth()}});
    CHECK(name->status() == http::status::not_found);
    CHECK(EventValidator::valid_utf8(name->out()));
}

TEST_CASE("ExecuteHandler validation body", "[execute_handler]") {
    CHECK(ExecuteHandler::validation_body("segment_write_key", "bad \xff") ==
          "{\"looker\":{\"success\":false,\"message\":\"bad \xef\xbf\xbd\",\"refresh_query\":false,"
          "\"validation_errors\":{\"segment_write_key\":\"bad \xef\xbf\xbd\"}}}");
    CHECK(ExecuteHandler::error_body("x\xc3") == "{\"success\":false,\"error\":\"x\xef\xbf\xbd\"}");
}
