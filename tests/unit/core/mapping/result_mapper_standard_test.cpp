// Default mode: DESIGN §3, bullet by bullet.
#include <catch2/catch.hpp>

#include "core/mapping/message_id.hpp"
#include "mapper_test_support.hpp"

using namespace lsr;
using core::CallType;
using core::ResultFormat;
using test::json_detail;
using test::run_mapper;
using test::standard_options;

namespace {

const std::string kFields = R"({"dimensions":[
  {"name":"users.id","label":"Users ID","label_short":"ID","tags":["user_id"]},
  {"name":"users.email","label":"Users Email","label_short":"Email","tags":["email"]},
  {"name":"users.name","label":"Users Name","label_short":"Name","tags":[]},
  {"name":"accounts.name","label":"Accounts Name","label_short":"Account Name","tags":[]}],
 "measures":[{"name":"users.sessions_count","label":"Users Sessions Count","label_short":"Sessions Count"}],
 "table_calculations":[{"name":"churn_risk","label":"Churn Risk","label_short":"Churn Risk"}]})";

std::string row(const std::string& id, const std::string& email, const std::string& name,
                const std::string& sessions, const std::string& churn = "0.5",
                const std::string& account = "\"Acme\"") {
    return R"({"users.id":{"value":)" + id + R"(},"users.email":{"value":)" + email +
           R"(},"users.name":{"value":)" + name + R"(,"rendered":"RENDERED"},"accounts.name":{"value":)" +
           account + R"(},"users.sessions_count":{"value":)" + sessions +
           R"(,"rendered":"2 sessions"},"churn_risk":{"value":)" + churn + "}}";
}

std::string traits_of(const std::string& event) {
    const auto from = event.find("\"traits\":");
    const auto to = event.find(",\"context\":");
    return event.substr(from + 9, to - from - 9);
}

}  // namespace

TEST_CASE("standard: the seed's identify, short keys, full names on collisions", "[standard]") {
    auto run = run_mapper(
        standard_options(), ResultFormat::json_detail,
        json_detail(kFields, row("\"00MWWFOLRcETcTCf\"", "\"ty.arthur@segment.com\"", "\"Ty Arthur\"", "2")));
    REQUIRE_FALSE(run.ec);
    REQUIRE(run.sink.events.size() == 1);
    const std::string& e = run.sink.events[0];
    CHECK(e.rfind(R"({"type":"identify","userId":"00MWWFOLRcETcTCf","traits":{)", 0) == 0);
    // users.name and accounts.name would both be "name": both keep their full names.
    CHECK(traits_of(e) ==
          R"({"email":"ty.arthur@segment.com","users.name":"Ty Arthur","accounts.name":"Acme",)"
          R"("sessions_count":2,"churn_risk":0.5})");
    CHECK(e.find(R"("context":{"library":{"name":"looker-segment-relay","version":")" LSR_VERSION R"("}})") !=
          std::string::npos);
    CHECK(e.find(R"("timestamp":"2017-07-28T02:25:19.000Z")") != std::string::npos);
    CHECK(e.find("RENDERED") == std::string::npos);
    CHECK(e.find("anonymousId") == std::string::npos);
    CHECK(run.sink.message_ids[0].rfind("lsr-", 0) == 0);
    CHECK(run.sink.message_ids[0].size() == 36);
}

TEST_CASE("standard: label naming, as the seed's \"sessions count\"", "[standard]") {
    auto o = standard_options();
    o.mapping.trait_naming = core::TraitNaming::label;
    auto run =
        run_mapper(o, ResultFormat::json_detail, json_detail(kFields, row("1", "\"a@x\"", "\"Ty\"", "2")));
    REQUIRE(run.sink.events.size() == 1);
    CHECK(traits_of(run.sink.events[0]) ==
          R"({"email":"a@x","name":"Ty","account name":"Acme","sessions count":2,"churn_risk":0.5})");
}

TEST_CASE("standard: the rename map wins, table calculations keep their name", "[standard]") {
    auto o = standard_options();
    o.mapping.rename = {{"users.sessions_count", "Sessions"}, {"accounts.name", "company"}};
    auto run =
        run_mapper(o, ResultFormat::json_detail, json_detail(kFields, row("1", "\"a@x\"", "\"Ty\"", "2")));
    REQUIRE(run.sink.events.size() == 1);
    CHECK(traits_of(run.sink.events[0]) ==
          R"({"email":"a@x","name":"Ty","company":"Acme","Sessions":2,"churn_risk":0.5})");
}

TEST_CASE("standard: 0, false and empty string pass; nulls are left out or sent by config", "[standard]") {
    auto run = run_mapper(standard_options(), ResultFormat::json_detail,
                          json_detail(kFields, row("1", "\"a@x\"", "\"\"", "0", "false", "null")));
    REQUIRE(run.sink.events.size() == 1);
    CHECK(traits_of(run.sink.events[0]) ==
          R"({"email":"a@x","users.name":"","sessions_count":0,"churn_risk":false})");
    auto o = standard_options();
    o.mapping.send_nulls = true;
    run = run_mapper(o, ResultFormat::json_detail, json_detail(kFields, row("1", "\"a@x\"", "null", "null")));
    REQUIRE(run.sink.events.size() == 1);
    CHECK(
        traits_of(run.sink.events[0]) ==
        R"({"email":"a@x","users.name":null,"accounts.name":"Acme","sessions_count":null,"churn_risk":0.5})");
}

TEST_CASE("standard: pivots become one scalar trait per pivot value and a total", "[standard]") {
    const std::string fields = R"({"dimensions":[{"name":"u.id","tags":["user_id"]}],
      "measures":[{"name":"orders.count"}],
      "pivots":[{"key":"2017-01","data":{"orders.month":"2017-01"}},{"key":"k2","data":{"orders.month":"2017-02"}}]})";
    auto run = run_mapper(standard_options(), ResultFormat::json_detail,
                          json_detail(fields, R"({"u.id":{"value":7},"orders.count":{"2017-01":{"value":1},)"
                                              R"("k2":{"value":null},"$$$_row_total_$$$":{"value":4}}})"));
    REQUIRE(run.sink.events.size() == 1);
    CHECK(traits_of(run.sink.events[0]) == R"({"count_2017-01":1,"count_total":4})");
    CHECK(run.summary.warnings.empty());
}

TEST_CASE("standard: other arrays and objects travel as JSON text with a warning", "[standard]") {
    const std::string fields = R"({"dimensions":[{"name":"u.id","tags":["user_id"]},{"name":"u.tags"}]})";
    auto run = run_mapper(standard_options(), ResultFormat::json_detail,
                          json_detail(fields, R"({"u.id":{"value":"1"},"u.tags":{"value":["a","b"]}})"));
    REQUIRE(run.sink.events.size() == 1);
    CHECK(traits_of(run.sink.events[0]) == R"({"tags":"[\"a\",\"b\"]"})");
    REQUIRE(run.summary.warnings.size() == 1);
    CHECK(run.summary.warnings[0] == "field u.tags: an array sent as JSON text");
}

TEST_CASE("standard: userId is a string; email-only rows get an anonymousId derived from the email",
          "[standard]") {
    const std::string fields =
        R"({"dimensions":[{"name":"u.id","tags":["user_id"]},{"name":"u.email","tags":["email"]}]})";
    auto run =
        run_mapper(standard_options(), ResultFormat::json_detail,
                   json_detail(fields, R"({"u.id":{"value":12345678901234567890},"u.email":{"value":null}},)"
                                       R"({"u.id":{"value":null},"u.email":{"value":" Ty@X.io "}},)"
                                       R"({"u.id":{"value":null},"u.email":{"value":"ty@x.io"}})"));
    REQUIRE(run.sink.events.size() == 3);
    CHECK(run.sink.events[0].rfind(R"({"type":"identify","userId":"12345678901234567890","traits":{})", 0) ==
          0);
    const std::string anon = core::MessageId::email_uuid("ty@x.io");
    CHECK(anon.size() == 36);
    CHECK(anon[14] == '5');
    CHECK(run.sink.events[1].rfind(
              R"({"type":"identify","anonymousId":")" + anon + R"(","traits":{"email":" Ty@X.io "})", 0) ==
          0);
    CHECK(run.sink.events[2].find(anon) != std::string::npos);
}

TEST_CASE("standard: a row with neither id nor email is rejected, the others go", "[standard]") {
    const std::string fields =
        R"({"dimensions":[{"name":"u.id","tags":["user_id"]},{"name":"u.email","tags":["email"]}]})";
    auto run = run_mapper(standard_options(), ResultFormat::json_detail,
                          json_detail(fields, R"({"u.id":{"value":"1"},"u.email":{"value":null}},)"
                                              R"({"u.id":{"value":""},"u.email":{"value":""}},)"
                                              R"({"u.id":{"value":"3"},"u.email":{"value":null}})"));
    CHECK_FALSE(run.ec);
    CHECK(run.summary.rows == 3);
    CHECK(run.summary.accepted == 2);
    CHECK(run.summary.rejected == 1);
    REQUIRE(run.sink.rejects.size() == 1);
    CHECK(run.sink.rejects[0].row_index == 1);
    CHECK(run.sink.rejects[0].reason == "no user id, anonymous id or email");
    CHECK(run.summary.message(5) ==
          "3 rows: 2 accepted, 1 rejected. First rejections: row 2: no user id, "
          "anonymous id or email.");
}

TEST_CASE("standard: segment_group_id sets context.groupId; group calls need it", "[standard]") {
    const std::string fields =
        R"({"dimensions":[{"name":"u.id","tags":["user_id"]},{"name":"a.id","tags":["segment_group_id"]}]})";
    const std::string rows =
        R"({"u.id":{"value":"u1"},"a.id":{"value":99}},{"u.id":{"value":"u2"},"a.id":{"value":null}})";
    auto run = run_mapper(standard_options(), ResultFormat::json_detail, json_detail(fields, rows));
    REQUIRE(run.sink.events.size() == 2);
    CHECK(run.sink.events[0].find(
              R"("context":{"library":{"name":"looker-segment-relay","version":")" LSR_VERSION
              R"("},"groupId":"99"})") != std::string::npos);
    CHECK(run.sink.events[1].find("groupId") == std::string::npos);
    run = run_mapper(standard_options(CallType::group), ResultFormat::json_detail, json_detail(fields, rows));
    REQUIRE(run.sink.events.size() == 1);
    CHECK(run.sink.events[0].rfind(R"({"type":"group","userId":"u1","groupId":"99","traits":{})", 0) == 0);
    REQUIRE(run.sink.rejects.size() == 1);
    CHECK(run.sink.rejects[0].reason == "no group id (the field tagged segment_group_id is empty)");
}

TEST_CASE("standard: track sends properties and the event; no event is a row reason", "[standard]") {
    auto o = standard_options(CallType::track);
    o.event = "Cohort Entered";
    auto run =
        run_mapper(o, ResultFormat::json_detail, json_detail(kFields, row("1", "\"a@x\"", "\"Ty\"", "2")));
    REQUIRE(run.sink.events.size() == 1);
    CHECK(run.sink.events[0].rfind(
              R"({"type":"track","userId":"1","event":"Cohort Entered","properties":{"email":"a@x",)", 0) ==
          0);
    run = run_mapper(standard_options(CallType::track), ResultFormat::json_detail,
                     json_detail(kFields, row("1", "\"a@x\"", "\"Ty\"", "2")));
    REQUIRE(run.sink.rejects.size() == 1);
    CHECK(run.sink.rejects[0].reason == "no event name (the form field \"event\" is empty)");
}

TEST_CASE("standard: timestamp is ran_at, else the receive time", "[standard]") {
    auto run = run_mapper(standard_options(), ResultFormat::json_detail,
                          json_detail(kFields, row("1", "\"a@x\"", "\"Ty\"", "2"), ""));
    REQUIRE(run.sink.events.size() == 1);
    CHECK(run.sink.events[0].find(R"("timestamp":"2026-12-01T06:55:22.123Z")") != std::string::npos);
    run = run_mapper(standard_options(), ResultFormat::json_detail,
                     json_detail(kFields, row("1", "\"a@x\"", "\"Ty\"", "2"), "not a date"));
    CHECK(run.sink.events[0].find(R"("timestamp":"2026-12-01T06:55:22.123Z")") != std::string::npos);
    CHECK(run.summary.warnings.size() == 1);
}

TEST_CASE("standard: messageId is deterministic per schedule, run, call and row", "[standard]") {
    const std::string doc =
        json_detail(kFields, row("1", "\"a@x\"", "\"Ty\"", "2") + "," + row("2", "\"b@x\"", "\"Bo\"", "3"));
    auto a = run_mapper(standard_options(), ResultFormat::json_detail, doc);
    auto b = run_mapper(standard_options(), ResultFormat::json_detail, doc);
    REQUIRE(a.sink.message_ids.size() == 2);
    CHECK(a.sink.message_ids == b.sink.message_ids);  // a re-sent delivery is deduplicated
    CHECK(a.sink.events == b.sink.events);
    CHECK(a.sink.message_ids[0] != a.sink.message_ids[1]);
    auto o = standard_options();
    o.run_id = "webhook-2";  // another delivery of the same run (same ran_at): the same ids
    auto c = run_mapper(o, ResultFormat::json_detail, doc);
    CHECK(c.sink.message_ids == a.sink.message_ids);
    const std::string other_run =
        json_detail(kFields, row("1", "\"a@x\"", "\"Ty\"", "2"), "2017-07-29T02:25:19Z");
    CHECK(run_mapper(standard_options(), ResultFormat::json_detail, other_run).sink.message_ids[0] !=
          a.sink.message_ids[0]);
    // Without ran_at the caller's run id tells runs apart.
    const std::string no_ran_at = json_detail(kFields, row("1", "\"a@x\"", "\"Ty\"", "2"), "");
    auto e1 = run_mapper(standard_options(), ResultFormat::json_detail, no_ran_at);
    auto e2 = run_mapper(o, ResultFormat::json_detail, no_ran_at);
    CHECK(e1.sink.message_ids[0] != e2.sink.message_ids[0]);
    o = standard_options(CallType::track);
    o.event = "E";
    auto d = run_mapper(o, ResultFormat::json_detail, doc);
    CHECK(d.sink.message_ids[0] != a.sink.message_ids[0]);
    auto changed = run_mapper(standard_options(), ResultFormat::json_detail,
                              json_detail(kFields, row("1", "\"a@x\"", "\"Ty\"", "9")));
    CHECK(changed.sink.message_ids[0] != a.sink.message_ids[0]);
}

TEST_CASE("standard: hidden fields stay out of the traits", "[standard]") {
    auto o = standard_options();
    o.hidden_fields = {"users.name"};
    auto run =
        run_mapper(o, ResultFormat::json_detail, json_detail(kFields, row("1", "\"a@x\"", "\"Ty\"", "2")));
    // With users.name hidden, accounts.name no longer collides.
    CHECK(traits_of(run.sink.events[0]) ==
          R"({"email":"a@x","name":"Acme","sessions_count":2,"churn_risk":0.5})");
}

TEST_CASE("standard: every event is validated; a rejected row never stops the others", "[standard]") {
    auto o = standard_options();
    o.max_event_bytes = 400;
    const std::string big(500, 'x');
    auto run = run_mapper(o, ResultFormat::json_detail,
                          json_detail(kFields, row("1", "\"a@x\"", "\"" + big + "\"", "2") + "," +
                                                   row("2", "\"b@x\"", "\"Bo\"", "1e999") + "," +
                                                   row("3", "\"c@x\"", "\"\xff\"", "2") + "," +
                                                   row("4", "\"d@x\"", "\"Di\"", "2")));
    CHECK_FALSE(run.ec);
    CHECK(run.summary.rows == 4);
    CHECK(run.summary.accepted == 1);
    REQUIRE(run.sink.rejects.size() == 3);
    CHECK(run.sink.rejects[0].reason.find("above Segment's limit of 400") != std::string::npos);
    CHECK(run.sink.rejects[1].reason == "a number is out of range");
    CHECK(run.sink.rejects[2].reason == "invalid UTF-8 in a value");
    CHECK(run.sink.events[0].find("\"userId\":\"4\"") != std::string::npos);
}

TEST_CASE("standard: destination readiness counts and switches off unready destinations", "[standard]") {
    const std::string fields =
        R"({"dimensions":[{"name":"u.id","tags":["user_id"]},{"name":"u.email","tags":["email"]},
        {"name":"u.name"}]})";
    const std::string rows = R"({"u.id":{"value":"1"},"u.email":{"value":"a@x"},"u.name":{"value":"A"}},)"
                             R"({"u.id":{"value":null},"u.email":{"value":"b@x"},"u.name":{"value":null}})";
    auto o = standard_options();
    o.mapping.destinations = {"amplitude", "zendesk", "hubspot", "nowhere"};
    auto run = run_mapper(o, ResultFormat::json_detail, json_detail(fields, rows));
    REQUIRE(run.sink.events.size() == 2);
    CHECK(run.sink.events[0].find("integrations") == std::string::npos);  // counting only, by default
    CHECK(run.summary.not_ready_by_destination.at("Amplitude") == 1);
    CHECK(run.summary.not_ready_by_destination.at("Zendesk") == 1);
    CHECK(run.summary.not_ready_by_destination.count("HubSpot") == 0);
    CHECK(run.summary.warnings.at(0) == "destination nowhere is not in the destination table; not checked");
    CHECK(run.summary.message(3).find(
              "Not ready: Amplitude 1 (needs userId), Zendesk 1 (needs email and a name "
              "trait).") != std::string::npos);
    o.mapping.disable_unready_destinations = true;
    run = run_mapper(o, ResultFormat::json_detail, json_detail(fields, rows));
    CHECK(run.sink.events[0].find("integrations") == std::string::npos);
    CHECK(run.sink.events[1].find(R"(,"integrations":{"Amplitude":false,"Zendesk":false}})") !=
          std::string::npos);
}

TEST_CASE("standard: untagged json_detail takes roles from the identity columns", "[standard]") {
    const std::string fields = R"({"dimensions":[{"name":"u.id","label":"User ID"},{"name":"u.plan"}]})";
    auto o = standard_options();
    auto run = run_mapper(o, ResultFormat::json_detail,
                          json_detail(fields, R"({"u.id":{"value":1},"u.plan":{"value":"pro"}})"));
    CHECK(run.error == "Query requires a field tagged email or user_id or segment_anonymous_id.");
    o.mapping.identity.user_id = "user id";
    run = run_mapper(o, ResultFormat::json_detail,
                     json_detail(fields, R"({"u.id":{"value":1},"u.plan":{"value":"pro"}})"));
    REQUIRE(run.sink.events.size() == 1);
    CHECK(run.sink.events[0].rfind(R"({"type":"identify","userId":"1","traits":{"plan":"pro"})", 0) == 0);
}

TEST_CASE("standard: an anonymous-id field is the anonymousId only, never the userId", "[standard]") {
    const std::string fields = R"({"dimensions":[{"name":"u.anon","tags":["segment_anonymous_id"]},
        {"name":"u.email","tags":["email"]}]})";
    auto run = run_mapper(standard_options(), ResultFormat::json_detail,
                          json_detail(fields, R"({"u.anon":{"value":"a-1"},"u.email":{"value":"x@y"}},)"
                                              R"({"u.anon":{"value":null},"u.email":{"value":"x@y"}})"));
    REQUIRE(run.sink.events.size() == 2);
    CHECK(run.sink.events[0].rfind(R"({"type":"identify","anonymousId":"a-1","traits":{"email":"x@y"})", 0) ==
          0);
    CHECK(run.sink.events[1].rfind(
              R"({"type":"identify","anonymousId":")" + core::MessageId::email_uuid("x@y") + R"(","traits":)",
              0) == 0);
}

TEST_CASE("standard: a group-id field alone is not an identity for a user", "[standard]") {
    const std::string fields = R"({"dimensions":[{"name":"a.id","tags":["segment_group_id"]}]})";
    auto run = run_mapper(standard_options(), ResultFormat::json_detail,
                          json_detail(fields, R"({"a.id":{"value":"g1"}})"));
    CHECK_FALSE(run.ec);
    REQUIRE(run.sink.rejects.size() == 1);
    CHECK(run.sink.rejects[0].reason == "no user id, anonymous id or email");
}
