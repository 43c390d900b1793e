// RunRecordJson: every field of a run, byte for byte, and the page around them.
#include "server/storage/run_record_json.hpp"

#include <rapidjson/document.h>

#include <catch2/catch.hpp>

using lsr::server::RunRecord;
using lsr::server::RunRecordJson;

namespace {

RunRecord full_run() {
    RunRecord r;
    r.id = 42;
    r.request_id = "req-1";
    r.received_ms = 1764917722123;  // 2025-12-05T06:55:22.123Z
    r.finished_ms = 1764917723000;
    r.instance = "looker.example.com";
    r.plan_id = "17";
    r.title = "Churn \"risk\" \xE2\x80\x94 daily";
    r.action = "segment_event";
    r.webhook_id = "wh-9";
    r.sync_mode = "audience";
    r.outcome = "done";
    r.rows = 1000;
    r.accepted = 990;
    r.rejected = 10;
    r.rejected_by_reason = {{"no user id", 7}, {"event too large", 3}};
    r.added = 180;
    r.changed = 20;
    r.unchanged = 790;
    r.removed = 95;
    r.events = 295;
    r.success = true;
    r.answer = "1000 rows: 20 changed, 180 new";
    r.queued = 5;
    r.dead_lettered = 1;
    r.delivered = 289;
    return r;
}

rapidjson::Document parse(const std::string& s) {
    rapidjson::Document d;
    d.Parse(s.c_str(), s.size());
    REQUIRE_FALSE(d.HasParseError());
    return d;
}

}  // namespace

TEST_CASE("RunRecordJson writes every field of a run", "[run_record_json]") {
    CHECK(
        RunRecordJson::object(full_run()) ==
        "{\"id\":42,\"request_id\":\"req-1\",\"received\":\"2025-12-05T06:55:22.123Z\","
        "\"received_ms\":1764917722123,\"finished\":\"2025-12-05T06:55:23.000Z\",\"finished_ms\":"
        "1764917723000,"
        "\"instance\":\"looker.example.com\",\"plan_id\":\"17\",\"title\":\"Churn \\\"risk\\\" \xE2\x80\x94 "
        "daily\",\"action\":\"segment_event\",\"webhook_id\":\"wh-9\",\"sync_mode\":\"audience\","
        "\"outcome\":\"done\",\"rows\":1000,\"accepted\":990,\"rejected\":10,\"rejected_by_reason\":{\"no "
        "user id\":7,\"event too large\":3},\"added\":180,\"changed\":20,\"unchanged\":790,\"removed\":95,"
        "\"events\":295,\"success\":true,\"answer\":\"1000 rows: 20 changed, 180 new\",\"queued\":5,"
        "\"dead_lettered\":1,\"delivered\":289}");
}

TEST_CASE("RunRecordJson: an unfinished run has null finish times", "[run_record_json]") {
    RunRecord r;
    r.id = 1;
    r.received_ms = 1000;
    const auto d = parse(RunRecordJson::object(r));
    CHECK(std::string(d["outcome"].GetString()) == "running");
    CHECK(d["finished"].IsNull());
    CHECK(d["finished_ms"].IsNull());
    CHECK(std::string(d["received"].GetString()) == "1970-01-01T00:00:01.000Z");
    CHECK(d["received_ms"].GetInt64() == 1000);
    CHECK(d["rejected_by_reason"].IsObject());
    CHECK(d["rejected_by_reason"].MemberCount() == 0);
    CHECK_FALSE(d["success"].GetBool());
}

TEST_CASE("RunRecordJson writes valid UTF-8 whatever the record holds", "[run_record_json]") {
    RunRecord r = full_run();
    r.title = "bad \xff byte\n";
    r.rejected_by_reason = {{"reason \xfe", 1}};
    const std::string text = RunRecordJson::object(r);
    const auto d = parse(text);
    CHECK(std::string(d["title"].GetString()) == "bad \xEF\xBF\xBD byte\n");
    CHECK(d["rejected_by_reason"].HasMember("reason \xEF\xBF\xBD"));
    CHECK(text.find('\n') == std::string::npos);
}

TEST_CASE("RunRecordJson page: the runs in order and the next page's link", "[run_record_json]") {
    auto a = full_run();
    auto b = full_run();
    b.id = 41;
    const auto d = parse(RunRecordJson::page({a, b}, 41));
    REQUIRE(d["runs"].Size() == 2);
    CHECK(d["runs"][0]["id"].GetInt64() == 42);
    CHECK(d["runs"][1]["id"].GetInt64() == 41);
    CHECK(std::string(d["next"].GetString()) == "/runs?before=41");
    CHECK(RunRecordJson::page({}, 0) == "{\"runs\":[],\"next\":null}");
    CHECK(RunRecordJson::page({a}, 0) == "{\"runs\":[" + RunRecordJson::object(a) + "],\"next\":null}");
}
