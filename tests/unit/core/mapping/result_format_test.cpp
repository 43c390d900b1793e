#include "core/mapping/result_format.hpp"

#include <catch2/catch.hpp>

#include "core/mapping/call_type.hpp"

using namespace lsr::core;

TEST_CASE("result format: names round-trip", "[format]") {
    for (auto f : {ResultFormat::json_detail, ResultFormat::json_detail_lite_stream, ResultFormat::json,
                   ResultFormat::inline_json, ResultFormat::csv, ResultFormat::txt})
        CHECK(parse_result_format(result_format_name(f)) == f);
    CHECK_FALSE(parse_result_format("xlsx"));
}

TEST_CASE("result format: guessed from mimetype, extension and content", "[format]") {
    CHECK(guess_result_format("text/csv", "csv") == ResultFormat::csv);
    CHECK(guess_result_format("text/csv;base64", "") == ResultFormat::csv);
    CHECK(guess_result_format("text/plain", "txt") == ResultFormat::txt);
    CHECK_FALSE(guess_result_format("application/json", "json"));
    CHECK(sniff_result_format(" {\"fields\":{}}") == ResultFormat::json_detail);
    CHECK(sniff_result_format("{\"ran_at\":\"x\"}") == ResultFormat::json_detail);
    CHECK(sniff_result_format("{\"data\" : \"[]\"}") == ResultFormat::inline_json);
    CHECK(sniff_result_format("[{\"a\":1}]") == ResultFormat::json);
    CHECK(sniff_result_format("{\"data\":[]}") == ResultFormat::json);
    CHECK(sniff_result_format("a\tb\n1\t2") == ResultFormat::txt);
    CHECK(sniff_result_format("a,b\n1,2") == ResultFormat::csv);
}

TEST_CASE("call type: action names", "[call]") {
    CHECK(call_type_from_action("segment_event") == CallType::identify);
    CHECK(call_type_from_action("segment_track") == CallType::track);
    CHECK(call_type_from_action("segment_group") == CallType::group);
    CHECK_FALSE(call_type_from_action("segment_identify"));
    CHECK(action_name(CallType::identify) == "segment_event");
    CHECK(call_type_name(CallType::group) == "group");
    CHECK(parse_call_type("track") == CallType::track);
}

TEST_CASE("result format: the one choice of serve and preview", "[format]") {
    ResultOrigin action;  // an Action API execute, result from a download_url
    CHECK(choose_result_format(action, R"({"fields":{},"data":[]})") == ResultFormat::json_detail);
    // A JSON object without fields is still what the action asked for: json_detail.
    CHECK(choose_result_format(action, R"( {"data":[{"a":1}]})") == ResultFormat::json_detail);
    CHECK(choose_result_format(action, R"({"data":"[]"})") == ResultFormat::inline_json);
    CHECK(choose_result_format(action, R"([{"a":1}])") == ResultFormat::json);
    CHECK(choose_result_format(action, "a,b\n1,2") == ResultFormat::csv);

    ResultOrigin webhook;
    webhook.action_api = false;
    CHECK(choose_result_format(webhook, R"({"data":[{"a":1}]})") == ResultFormat::json);
    CHECK(choose_result_format(webhook, R"({"fields":{},"data":[]})") == ResultFormat::json_detail);

    ResultOrigin attached;
    attached.inline_attachment = true;
    attached.mimetype = "text/csv;base64";
    CHECK(choose_result_format(attached, R"({"data":[]})") == ResultFormat::csv);
    attached.mimetype = "application/json";
    attached.extension = "json";
    CHECK(choose_result_format(attached, R"({"data":[]})") == ResultFormat::json_detail);
    // The mimetype counts only for an attachment.
    action.mimetype = "text/csv";
    CHECK(choose_result_format(action, R"({"data":[]})") == ResultFormat::json_detail);
}

TEST_CASE("result format: unreadable attachments are named", "[format]") {
    CHECK(unreadable_attachment("application/pdf", "") ==
          "The attachment is application/pdf; the relay reads json_detail, json_detail_lite_stream, json, "
          "inline_json, csv and txt results.");
    CHECK(unreadable_attachment("application/octet-stream", "XLSX"));
    CHECK(unreadable_attachment("IMAGE/PNG;base64", ""));
    CHECK_FALSE(unreadable_attachment("application/json", "json"));
    CHECK_FALSE(unreadable_attachment("text/csv", "csv"));
}
