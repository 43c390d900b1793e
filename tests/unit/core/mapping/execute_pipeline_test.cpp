// The execute path inside core: payload -> hub validation -> attachment span -> decoder ->
// mapper, over the shared sample payloads in tests/data.
#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

#include "core/hub/execute_request_validator.hpp"
#include "core/mapping/attachment_decoder.hpp"
#include "core/mapping/message_id.hpp"
#include "mapper_test_support.hpp"

using namespace lsr;
using core::ExecutePayloadScanner;
using core::ExecuteRequest;
using core::ExecuteRequestValidator;

namespace {

std::string read_data(const std::string& name) {
    std::ifstream in(std::string(LSR_TEST_DATA_DIR) + "/" + name, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

ExecuteRequest scan(const std::string& body) {
    ExecutePayloadScanner scanner;
    REQUIRE_FALSE(scanner.feed(body));
    REQUIRE_FALSE(scanner.finish());
    return scanner.request();
}

ExecuteRequest parse(const std::string& body) {
    ExecutePayloadScanner scanner;
    (void)scanner.feed(body);
    (void)scanner.finish();
    return scanner.request();
}

}  // namespace

TEST_CASE("execute: the hub's validation texts, in its order", "[execute]") {
    CHECK(ExecuteRequestValidator::check(parse(R"({"data":{"segment_write_key":"k"}})")) ==
          "No request type specified. The request must be of type: \"query\".");
    CHECK(ExecuteRequestValidator::check(parse(R"({"type":null})")) ==
          "No request type specified. The request must be of type: \"query\".");
    CHECK(ExecuteRequestValidator::check(parse(R"({"type":"cell","data":{"segment_write_key":"k"}})")) ==
          "This action does not support requests of type \"cell\". The request must be of type: \"query\".");
    core::ExecuteRequirements two;
    two.supported_types = {"cell", "dashboard"};
    CHECK(ExecuteRequestValidator::check(parse(R"({})"), two) ==
          "No request type specified. The request must be of type: \"cell\", \"dashboard\".");
    CHECK(ExecuteRequestValidator::check(parse(R"({"type":"query"})")) ==
          "Required setting \"Segment Write Key\" not specified in action settings.");
    CHECK(ExecuteRequestValidator::check(parse(R"({"type":"query","data":{"segment_write_key":""}})")) ==
          "Required setting \"Segment Write Key\" not specified in action settings.");
    CHECK(ExecuteRequestValidator::check(parse(R"({"type":"query","data":{"segment_write_key":"k"}})")) ==
          "A streaming action was sent incompatible data. The action must have a download url or an "
          "attachment.");
    CHECK(ExecuteRequestValidator::check(
              parse(R"({"type":"query","data":{"segment_write_key":"k"},"attachment":{"data":null}})")) ==
          "A streaming action was sent incompatible data. The action must have a download url or an "
          "attachment.");
    CHECK_FALSE(ExecuteRequestValidator::check(scan(read_data("execute_download_url.json"))));
    CHECK_FALSE(ExecuteRequestValidator::check(scan(read_data("execute_identify.json"))));
}

TEST_CASE("execute: a pushed json_detail attachment maps end to end", "[execute]") {
    const std::string body = read_data("execute_identify.json");
    const ExecuteRequest r = scan(body);
    CHECK(r.params.at("segment_write_key") == "test_write_key");
    CHECK(r.plan.scheduled_plan_id == "42");
    REQUIRE(r.attachment.kind == core::AttachmentInfo::Kind::string);
    core::AttachmentDecoder decoder(r.attachment.kind, r.attachment.base64());
    std::string results;
    REQUIRE_FALSE(decoder.feed(std::string_view(body).substr(r.attachment.data_begin,
                                                             r.attachment.data_end - r.attachment.data_begin),
                               results));
    REQUIRE_FALSE(decoder.finish(results));
    CHECK(core::sniff_result_format(results) == core::ResultFormat::json_detail);

    auto o = test::standard_options();
    o.plan_id = r.plan.scheduled_plan_id;
    auto run = test::run_mapper(o, core::ResultFormat::json_detail, results, 7);
    CHECK_FALSE(run.ec);
    CHECK(run.summary.rows == 3);
    CHECK(run.summary.accepted == 2);
    REQUIRE(run.sink.events.size() == 2);
    CHECK(run.sink.events[0].rfind(
              R"({"type":"identify","userId":"00MWWFOLRcETcTCf","traits":{"email":)"
              R"("ty.arthur@segment.com","name":"Ty Arthur","sessions_count":2,"churn_risk":0},)"
              R"("context":{"library":{"name":"looker-segment-relay","version":")" LSR_VERSION
              R"("},"groupId":"17"},"timestamp":"2017-07-28T02:25:19.000Z","messageId":"lsr-)",
              0) == 0);
    CHECK(run.sink.rejects.at(0).reason == "no user id, anonymous id or email");

    auto hub = test::hub_options();
    auto hub_run = test::run_mapper(hub, core::ResultFormat::json_detail, results);
    CHECK(hub_run.summary.accepted == 3);  // the hub sends the id-less row with a random anonymousId
    CHECK(hub_run.sink.events[2].rfind(R"({"userId":null,"anonymousId":"uuid-)", 0) == 0);
}

TEST_CASE("execute: the csv sample with identity columns", "[execute]") {
    auto o = test::standard_options();
    o.mapping.identity.user_id = "users.id";
    o.mapping.identity.email = "users.email";
    auto run = test::run_mapper(o, core::ResultFormat::csv, read_data("result_users.csv"), 5);
    REQUIRE(run.sink.events.size() == 2);
    CHECK(run.sink.events[0].find(R"("traits":{"email":"ann@example.com","Users Name":"Ann, \"the\" first",)"
                                  R"("score":1.5,"zip":"02134"})") != std::string::npos);
    CHECK(run.sink.events[1].find(R"("anonymousId":")" + core::MessageId::email_uuid("bob@example.com")) !=
          std::string::npos);
}
