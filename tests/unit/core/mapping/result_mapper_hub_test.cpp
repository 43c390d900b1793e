// Hub mode: the public Looker Action Hub's payload, quirks included (reference §2.3-2.7).
#include <catch2/catch.hpp>

#include "core/mapping/message_id.hpp"
#include "mapper_test_support.hpp"

using namespace lsr;
using core::CallType;
using core::ResultFormat;
using test::hub_options;
using test::json_detail;
using test::run_mapper;

namespace {

const std::string kFields = R"({"dimensions":[
  {"name":"users.id","label":"Users ID","label_short":"ID","tags":["user_id"]},
  {"name":"users.email","label":"Users Email","label_short":"Email","tags":["email"]},
  {"name":"users.name","label":"Users Name","label_short":"Name","tags":[]}],
 "measures":[{"name":"users.sessions_count","label":"Users Sessions Count","label_short":"Sessions Count","tags":[]}],
 "table_calculations":[{"name":"churn_risk","label":"Churn Risk"}],
 "pivots":[]})";

std::string row(const std::string& id, const std::string& email, const std::string& name,
                const std::string& sessions, const std::string& churn = "0.5") {
    return R"({"users.id":{"value":)" + id + R"(},"users.email":{"value":)" + email +
           R"(},"users.name":{"value":)" + name +
           R"(,"rendered":"RENDERED"},"users.sessions_count":{"value":)" + sessions +
           R"(,"links":[{"label":"x","url":"/x","type":"drill"}]},"churn_risk":{"value":)" + churn + "}}";
}

std::string before_message_id(const std::string& event) {
    return event.substr(0, event.find(",\"messageId\":"));
}

}  // namespace

TEST_CASE("hub: identify payload field for field, key order, context, ran_at", "[hub]") {
    auto run = run_mapper(hub_options(), ResultFormat::json_detail,
                          json_detail(kFields, row("42", "\"ty@x.io\"", "\"Ty\"", "2")));
    REQUIRE_FALSE(run.ec);
    REQUIRE(run.sink.events.size() == 1);
    const std::string& e = run.sink.events[0];
    CHECK(
        before_message_id(e) ==
        R"({"userId":"42","anonymousId":null,"traits":{"email":"ty@x.io","users.name":"Ty",)"
        R"("users.sessions_count":2,"churn_risk":0.5},"context":{"library":{"name":"analytics-node",)"
        R"("version":"3.5.0"},"app":{"name":"looker/actions","version":"dev"}},)"
        R"("timestamp":"2017-07-28T02:25:19.000Z","type":"identify","_metadata":{"nodeVersion":"20.11.1"})");
    // messageId: node-<md5 of the message>-<uuid>; the first uuid of the run goes here.
    const std::string md5 = core::MessageId::md5_hex(before_message_id(e) + "}");
    CHECK(run.sink.message_ids[0] == "node-" + md5 + "-uuid-1");
    CHECK(e.substr(e.size() - 2) == "\"}");
}

TEST_CASE("hub: an anonymous-id-only field is sent as userId too", "[hub]") {
    const std::string fields =
        R"({"dimensions":[{"name":"u.anon","tags":["segment_anonymous_id"]},{"name":"u.plan","tags":[]}]})";
    auto run = run_mapper(hub_options(), ResultFormat::json_detail,
                          json_detail(fields, R"({"u.anon":{"value":"a-1"},"u.plan":{"value":"pro"}})"));
    REQUIRE(run.sink.events.size() == 1);
    CHECK(run.sink.events[0].rfind(R"({"userId":"a-1","anonymousId":"a-1","traits":{"u.plan":"pro"})", 0) ==
          0);
}

TEST_CASE("hub: email-only rows get a fresh random anonymousId each", "[hub]") {
    const std::string fields = R"({"dimensions":[{"name":"u.email","tags":["email"]}]})";
    auto run =
        run_mapper(hub_options(), ResultFormat::json_detail,
                   json_detail(fields, R"({"u.email":{"value":"a@x.io"}},{"u.email":{"value":"a@x.io"}})"));
    REQUIRE(run.sink.events.size() == 2);
    CHECK(run.sink.events[0].rfind(R"({"userId":null,"anonymousId":"uuid-1","traits":{"email":"a@x.io"})",
                                   0) == 0);
    // The same person again: another anonymous profile (uuid-2 went to the first messageId).
    CHECK(run.sink.events[1].rfind(R"({"userId":null,"anonymousId":"uuid-3",)", 0) == 0);
}

TEST_CASE("hub: null stays null, 0 stays 0, false and empty string become []", "[hub]") {
    auto run = run_mapper(hub_options(), ResultFormat::json_detail,
                          json_detail(kFields, row("1", "null", "null", "0", "false") + "," +
                                                   row("2", "\"\"", "\"\"", "0", "true")));
    REQUIRE(run.sink.events.size() == 2);
    CHECK(run.sink.events[0].find(
              R"("traits":{"email":null,"users.name":null,"users.sessions_count":0,"churn_risk":[]})") !=
          std::string::npos);
    CHECK(run.sink.events[1].find(
              R"("traits":{"email":"","users.name":[],"users.sessions_count":0,"churn_risk":true})") !=
          std::string::npos);
}

TEST_CASE("hub: pivoted measures become arrays of {pivot: value}", "[hub]") {
    const std::string fields = R"({"pivots":[{"key":"z","data":{"data":"nested, not rows"}}],
      "dimensions":[{"name":"u.id","tags":["user_id"]}],"measures":[{"name":"u.count","tags":[]}]})";
    const std::string doc = R"({"fields":)" + fields +
                            R"(,"data":[{"u.id":{"value":7},"u.count":{"f":{"value":1},"z":{"value":3},)"
                            R"("$$$_row_total_$$$":{"value":4}}}]})";
    auto run = run_mapper(hub_options(), ResultFormat::json_detail, doc);
    REQUIRE(run.sink.events.size() == 1);
    CHECK(run.sink.events[0].find(R"("traits":{"u.count":[{"f":1},{"z":3},{"$$$_row_total_$$$":4}]})") !=
          std::string::npos);
    CHECK(run.summary.rows == 1);
}

TEST_CASE("hub: pivot keys come in JavaScript's order, array elements under their index", "[hub]") {
    const std::string fields =
        R"({"dimensions":[{"name":"u.id","tags":["user_id"]}],"measures":[{"name":"u.c"},{"name":"u.l"}]})";
    const std::string rows =
        R"({"u.id":{"value":1},"u.c":{"b":{"value":1},"10":{"value":2},"9":{"value":3},"a":{"value":4},)"
        R"("2":{"value":5},"01":{"value":6}},"u.l":{"f":[{"value":7},{"x":{"value":8}},{"value":9}]}})";
    auto run = run_mapper(hub_options(), ResultFormat::json_detail, json_detail(fields, rows));
    REQUIRE(run.sink.events.size() == 1);
    CHECK(run.sink.events[0].find(R"("traits":{"u.c":[{"2":5},{"9":3},{"10":2},{"b":1},{"a":4},{"01":6}],)"
                                  R"("u.l":[{"0":7},{"x":8},{"2":9}]})") != std::string::npos);
}

TEST_CASE("hub: a field named email keeps its place and takes the email field's value", "[hub]") {
    const std::string fields =
        R"({"dimensions":[{"name":"u.id","tags":["user_id"]},{"name":"email","tags":[]},)"
        R"({"name":"u.plan","tags":[]},{"name":"u.mail","tags":["email"]}]})";
    auto run = run_mapper(hub_options(), ResultFormat::json_detail,
                          json_detail(fields, R"({"u.id":{"value":1},"email":{"value":"old@x.io"},)"
                                              R"("u.plan":{"value":"pro"},"u.mail":{"value":"new@x.io"}})"));
    REQUIRE(run.sink.events.size() == 1);
    INFO(run.sink.events[0]);
    CHECK(run.sink.events[0].find(R"("traits":{"email":"new@x.io","u.plan":"pro"})") != std::string::npos);
}

TEST_CASE("hub: a null inside a pivot aborts the run with the hub's TypeError", "[hub]") {
    const std::string fields =
        R"({"dimensions":[{"name":"u.id","tags":["user_id"]}],"measures":[{"name":"u.c"}]})";
    auto run =
        run_mapper(hub_options(), ResultFormat::json_detail,
                   json_detail(fields, R"({"u.id":{"value":1},"u.c":{"f":{"value":2}}},)"
                                       R"({"u.id":{"value":2},"u.c":{"f":{"value":null},"g":{"value":2}}},)"
                                       R"({"u.id":{"value":3},"u.c":{"f":{"value":3}}})"));
    CHECK(run.ec);
    CHECK(run.error == "Cannot read properties of null (reading 'push')");
    CHECK(run.sink.events.size() == 1);  // rows before it were already sent, as in the hub
}

TEST_CASE("hub: hidden fields are dropped from traits, the email is still added", "[hub]") {
    auto o = hub_options();
    o.hidden_fields = {"users.name", "users.email"};
    auto run =
        run_mapper(o, ResultFormat::json_detail, json_detail(kFields, row("1", "\"a@x.io\"", "\"A\"", "3")));
    REQUIRE(run.sink.events.size() == 1);
    CHECK(
        run.sink.events[0].find(R"("traits":{"email":"a@x.io","users.sessions_count":3,"churn_risk":0.5})") !=
        std::string::npos);
}

TEST_CASE("hub: a missing cell aborts with the hub's text", "[hub]") {
    auto run = run_mapper(hub_options(), ResultFormat::json_detail,
                          json_detail(kFields, R"({"users.id":{"value":1},"users.email":{"value":"a"}})"));
    CHECK(run.ec);
    CHECK(run.error == "Field id users.name does not exist for JsonDetail.Row");
}

TEST_CASE("hub: no tagged field, or rows before fields, fail with the hub's text", "[hub]") {
    const std::string untagged = R"({"dimensions":[{"name":"u.name","tags":["other"]}]})";
    auto run = run_mapper(hub_options(), ResultFormat::json_detail, json_detail(untagged, ""));
    CHECK(run.ec);
    CHECK(run.error == "Query requires a field tagged email or user_id or segment_anonymous_id.");
    run = run_mapper(
        hub_options(), ResultFormat::json_detail,
        R"({"data":[{"u.id":{"value":1}}],"fields":{"dimensions":[{"name":"u.id","tags":["user_id"]}]}})");
    CHECK(run.ec);
    CHECK(run.error == "Query requires a field tagged email or user_id or segment_anonymous_id.");
    // No fields and no rows: silent success, as the hub.
    run = run_mapper(hub_options(), ResultFormat::json_detail, R"({"data":[]})");
    CHECK_FALSE(run.ec);
    CHECK(run.summary.rows == 0);
}

TEST_CASE("hub: groupId rides on identify when a group field exists", "[hub]") {
    const std::string fields = R"({"dimensions":[{"name":"u.id","tags":["user_id"]},
        {"name":"a.id","tags":["segment_group_id"]}]})";
    auto run = run_mapper(hub_options(), ResultFormat::json_detail,
                          json_detail(fields, R"({"u.id":{"value":"u1"},"a.id":{"value":99}},)"
                                              R"({"u.id":{"value":"u2"},"a.id":{"value":null}})"));
    REQUIRE(run.sink.events.size() == 2);
    CHECK(run.sink.events[0].rfind(R"({"userId":"u1","anonymousId":null,"groupId":99,"traits":{})", 0) == 0);
    CHECK(run.sink.events[1].rfind(R"({"userId":"u2","anonymousId":null,"traits":{})", 0) == 0);
}

TEST_CASE("hub: group calls need a groupId and draw no random anonymousId", "[hub]") {
    const std::string with_group = R"({"dimensions":[{"name":"u.email","tags":["email"]},
        {"name":"a.id","tags":["segment_group_id"]}]})";
    auto run = run_mapper(hub_options(CallType::group), ResultFormat::json_detail,
                          json_detail(with_group, R"({"u.email":{"value":"a@x"},"a.id":{"value":"g1"}})"));
    REQUIRE(run.sink.rejects.size() == 1);
    CHECK(run.sink.rejects[0].reason == "You must pass either an \"anonymousId\" or a \"userId\".");

    const std::string no_group = R"({"dimensions":[{"name":"u.id","tags":["user_id"]}]})";
    run = run_mapper(hub_options(CallType::group), ResultFormat::json_detail,
                     json_detail(no_group, R"({"u.id":{"value":"u1"}},{"u.id":{"value":"u2"}})"));
    CHECK_FALSE(run.ec);
    REQUIRE(run.sink.rejects.size() == 2);
    CHECK(run.sink.rejects[1].reason == "You must pass a \"groupId\".");
    CHECK(run.summary.rejected_by_reason.at("You must pass a \"groupId\".") == 2);

    const std::string both = R"({"dimensions":[{"name":"u.id","tags":["user_id"]},
        {"name":"a.id","tags":["segment_group_id"]}]})";
    run = run_mapper(hub_options(CallType::group), ResultFormat::json_detail,
                     json_detail(both, R"({"u.id":{"value":"u1"},"a.id":{"value":"g1"}})"));
    REQUIRE(run.sink.events.size() == 1);
    CHECK(run.sink.events[0].find(R"("type":"group")") != std::string::npos);
    CHECK(run.sink.events[0].find(R"("groupId":"g1","traits":{})") != std::string::npos);
}

TEST_CASE("hub: track puts the row under properties with the event", "[hub]") {
    auto o = hub_options(CallType::track);
    o.event = "Cohort Entered";
    auto run =
        run_mapper(o, ResultFormat::json_detail, json_detail(kFields, row("5", "\"e@x\"", "\"E\"", "1")));
    REQUIRE(run.sink.events.size() == 1);
    CHECK(run.sink.events[0].find(R"("properties":{"email":"e@x","users.name":"E","users.sessions_count":1,)"
                                  R"("churn_risk":0.5},"event":"Cohort Entered","context":)") !=
          std::string::npos);
    CHECK(run.sink.events[0].find(R"("type":"track")") != std::string::npos);

    o = hub_options(CallType::track);
    run = run_mapper(o, ResultFormat::json_detail, json_detail(kFields, row("5", "\"e@x\"", "\"E\"", "1")));
    REQUIRE(run.sink.rejects.size() == 1);
    CHECK(run.sink.rejects[0].reason == "You must pass an \"event\".");
}

TEST_CASE("hub: without ran_at the receive time is the timestamp; numbers as JavaScript writes them",
          "[hub]") {
    const std::string fields =
        R"({"dimensions":[{"name":"u.id","tags":["user_id"]},{"name":"u.x"},{"name":"u.y"}]})";
    auto run = run_mapper(
        hub_options(), ResultFormat::json_detail,
        json_detail(fields, R"({"u.id":{"value":1.0},"u.x":{"value":1e21},"u.y":{"value":2.50}})", ""));
    REQUIRE(run.sink.events.size() == 1);
    CHECK(run.sink.events[0].rfind(R"({"userId":"1","anonymousId":null,"traits":{"u.x":1e+21,"u.y":2.5})",
                                   0) == 0);
    CHECK(run.sink.events[0].find(R"("timestamp":"2026-12-01T06:55:22.123Z")") != std::string::npos);
}

TEST_CASE("hub: a null userId with an anonymous field that is null fails that row only", "[hub]") {
    const std::string fields = R"({"dimensions":[{"name":"u.anon","tags":["segment_anonymous_id"]}]})";
    auto run = run_mapper(hub_options(), ResultFormat::json_detail,
                          json_detail(fields, R"({"u.anon":{"value":null}},{"u.anon":{"value":"a2"}})"));
    CHECK_FALSE(run.ec);
    CHECK(run.summary.rows == 2);
    CHECK(run.summary.accepted == 1);
    CHECK(run.summary.rejected == 1);
    CHECK(run.summary.first_reasons[0] == "row 1: You must pass either an \"anonymousId\" or a \"userId\".");
}

TEST_CASE("hub: a segment_group_id field alone passes the tag check; the client then decides", "[hub]") {
    const std::string fields =
        R"({"dimensions":[{"name":"a.id","tags":["segment_group_id"]},{"name":"a.plan"}]})";
    const std::string rows = R"({"a.id":{"value":"g1"},"a.plan":{"value":"pro"}})";
    auto run = run_mapper(hub_options(), ResultFormat::json_detail, json_detail(fields, rows));
    CHECK_FALSE(run.ec);
    REQUIRE(run.sink.events.size() == 1);  // identify: a random anonymousId saves it
    CHECK(run.sink.events[0].rfind(
              R"({"userId":null,"anonymousId":"uuid-1","groupId":"g1","traits":{"a.plan":"pro"})", 0) == 0);
    run = run_mapper(hub_options(CallType::group), ResultFormat::json_detail, json_detail(fields, rows));
    REQUIRE(run.sink.rejects.size() == 1);  // group: no random id, so no id at all
    CHECK(run.sink.rejects[0].reason == "You must pass either an \"anonymousId\" or a \"userId\".");
}
