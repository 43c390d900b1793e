// The result formats and the streaming guarantee: any chunking gives the same output.
#include <catch2/catch.hpp>

#include "core/json_limits.hpp"
#include "mapper_test_support.hpp"

using namespace lsr;
using core::ResultFormat;
using test::run_mapper;
using test::standard_options;

namespace {

core::MapperOptions with_identity() {
    auto o = standard_options();
    o.mapping.identity.user_id = "users.id";
    o.mapping.identity.email = "users.email";
    return o;
}

void same_at_every_split(const core::MapperOptions& o, ResultFormat format, const std::string& text) {
    const auto whole = run_mapper(o, format, text);
    REQUIRE_FALSE(whole.ec);
    REQUIRE_FALSE(whole.sink.events.empty());
    for (std::size_t chunk = 1; chunk <= 64 && chunk <= text.size(); ++chunk) {
        const auto split = run_mapper(o, format, text, chunk);
        INFO("chunk " << chunk);
        CHECK_FALSE(split.ec);
        CHECK(split.sink.events == whole.sink.events);
        CHECK(split.summary.rows == whole.summary.rows);
    }
}

const std::string kDetail =
    R"({"id":"x","pivots":[{"data":{"u.id":"not a row"}}],"ran_at":"2017-07-28T02:25:19+00:00",
 "sql":"select \"data\" from [x] where y = '{'",
 "fields":{"dimensions":[{"name":"u.id","tags":["user_id"]},{"name":"u.email","tags":["email"]},{"name":"u.note"}],
   "pivots":[{"key":"a","data":{"data":"[{]"}}]},
 "data":[{"u.id":{"value":1},"u.email":{"value":"a@x"},"u.note":{"value":"say \"hi\" \\ [ok] {x} \u00e9"}},
         {"u.id":{"value":2},"u.email":{"value":"b@x"},"u.note":{"value":null,"links":[{"data":[1]}]}}],
 "drill_menu_build_time":1.5})";

}  // namespace

TEST_CASE("formats: json_detail fed one byte at a time gives identical events", "[formats]") {
    same_at_every_split(standard_options(), ResultFormat::json_detail, kDetail);
    auto hub = test::hub_options();
    hub.uuid_source = [] { return std::string("fixed"); };
    same_at_every_split(hub, ResultFormat::json_detail_lite_stream, kDetail);
    const auto run = run_mapper(standard_options(), ResultFormat::json_detail, kDetail);
    CHECK(run.summary.rows == 2);  // the data keys inside pivots are not rows
}

TEST_CASE("formats: json as a root array or an object with data", "[formats]") {
    const std::string arr =
        R"([{"users.id":1,"users.email":"a@x","users.plan":"pro"},{"users.id":2,"users.email":null,"users.plan":0}])";
    auto run = run_mapper(with_identity(), ResultFormat::json, arr);
    REQUIRE(run.sink.events.size() == 2);
    CHECK(run.sink.events[0].rfind(R"({"type":"identify","userId":"1","traits":{"email":"a@x","plan":"pro"})",
                                   0) == 0);
    CHECK(run.sink.events[1].rfind(R"({"type":"identify","userId":"2","traits":{"plan":0})", 0) == 0);
    same_at_every_split(with_identity(), ResultFormat::json, arr);
    same_at_every_split(with_identity(), ResultFormat::json, R"({"data":)" + arr + "}");
    run = run_mapper(standard_options(), ResultFormat::json, arr);
    CHECK(run.ec);
    CHECK(run.error.find("mapping.identity") != std::string::npos);
}

TEST_CASE("formats: inline_json carries the rows as a JSON string", "[formats]") {
    const std::string doc =
        R"({"label":"x","data":"[{\"users.id\":1,\"users.email\":\"a@x\",\"users.q\":\"\\\"q\\\"\"}]","other":1})";
    auto run = run_mapper(with_identity(), ResultFormat::inline_json, doc);
    REQUIRE(run.sink.events.size() == 1);
    CHECK(run.sink.events[0].find(R"("traits":{"email":"a@x","q":"\"q\""})") != std::string::npos);
    same_at_every_split(with_identity(), ResultFormat::inline_json, doc);
}

TEST_CASE("formats: csv with quotes, CRLF, BOM and the numeric-string rule", "[formats]") {
    const std::string csv =
        "\xEF\xBB\xBFusers.id,users.email,Users Plan,score,zip,note\r\n"
        "007,a@x,pro,1.50,02134,\"a, \"\"quoted\"\"\nline\"\r\n"
        "8,,,-3,,\n"
        "\n"
        "9,c@x,\"\",1e3,x,true\n";
    auto run = run_mapper(with_identity(), ResultFormat::csv, csv);
    REQUIRE_FALSE(run.ec);
    REQUIRE(run.sink.events.size() == 3);
    CHECK(run.sink.events[0].rfind(
              R"({"type":"identify","userId":"007","traits":{"email":"a@x","Users Plan":"pro",)"
              R"("score":1.5,"zip":"02134","note":"a, \"quoted\"\nline"})",
              0) == 0);
    CHECK(run.sink.events[1].rfind(R"({"type":"identify","userId":"8","traits":{"score":-3})", 0) == 0);
    CHECK(run.sink.events[2].find(R"("traits":{"email":"c@x","score":1000,"zip":"x","note":"true"})") !=
          std::string::npos);
    same_at_every_split(with_identity(), ResultFormat::csv, csv);
}

TEST_CASE("formats: txt is tab-separated without quoting", "[formats]") {
    const std::string txt = "users.id\tusers.email\tplan\n1\ta@x\t\"pro\"\n";
    auto run = run_mapper(with_identity(), ResultFormat::txt, txt);
    REQUIRE(run.sink.events.size() == 1);
    CHECK(run.sink.events[0].find(R"("traits":{"email":"a@x","plan":"\"pro\""})") != std::string::npos);
}

TEST_CASE("formats: csv problems", "[formats]") {
    auto run = run_mapper(with_identity(), ResultFormat::csv, "users.id,x\n1,\"open\n");
    CHECK(run.ec);
    CHECK(run.error.find("unterminated quote") != std::string::npos);
    run = run_mapper(with_identity(), ResultFormat::csv, "users.id,x\n1,2,3\n4,5\n");
    CHECK_FALSE(run.ec);
    CHECK(run.summary.rejected == 1);
    CHECK(run.summary.accepted == 1);
    run = run_mapper(with_identity(), ResultFormat::csv, "users.id,x\n1,\xff\n");
    CHECK(run.summary.rejected == 1);
    CHECK(run.sink.rejects[0].reason == "invalid UTF-8 in a value");
}

TEST_CASE("formats: broken json_detail documents fail the run with a message", "[formats]") {
    for (const char* doc : {"{\"data\":[{\"a\":1}", "[1,2]", "{\"data\":[}", "nonsense", "{\"fields\":{]}"}) {
        auto run = run_mapper(standard_options(), ResultFormat::json_detail, doc);
        INFO(doc);
        CHECK(run.ec);
        CHECK_FALSE(run.error.empty());
    }
    // A row that is not an object is a rejected row, not a stop.
    auto run = run_mapper(
        standard_options(), ResultFormat::json_detail,
        R"({"fields":{"dimensions":[{"name":"u.id","tags":["user_id"]}]},"data":[5,{"u.id":{"value":1}}]})");
    CHECK_FALSE(run.ec);
    CHECK(run.summary.rejected == 1);
    CHECK(run.summary.accepted == 1);
}

TEST_CASE("formats: a row above the row limit stops the run with a message", "[formats]") {
    auto o = standard_options();
    o.max_row_bytes = 100;
    auto run = run_mapper(
        o, ResultFormat::json_detail,
        R"({"fields":{"dimensions":[{"name":"u.id","tags":["user_id"]}]},"data":[{"u.id":{"value":")" +
            std::string(200, 'x') + R"("}}]})");
    CHECK(run.ec);
    CHECK(run.error == "A row of the result is larger than 100 bytes.");
}

TEST_CASE("formats: nesting limits hold whether a row is parsed whole or scanned in pieces", "[formats]") {
    const auto doc = [](int depth) {
        return R"({"fields":{"dimensions":[{"name":"u.id","tags":["user_id"]},{"name":"u.x"}]},"data":[)"
               R"({"u.id":{"value":1},"u.x":{"value":)" +
               std::string(static_cast<std::size_t>(depth), '[') +
               std::string(static_cast<std::size_t>(depth), ']') + "}}]}";
    };
    for (std::size_t chunk : {std::size_t(0), std::size_t(7)}) {
        // The row sits 4 levels down; its cell may nest to the limit, not past it.
        constexpr int kLimit = static_cast<int>(lsr::core::kMaxJsonDepth);
        auto ok = run_mapper(standard_options(), ResultFormat::json_detail, doc(kLimit - 4), chunk);
        CHECK_FALSE(ok.ec);
        CHECK(ok.summary.accepted == 1);
        auto deep = run_mapper(standard_options(), ResultFormat::json_detail, doc(kLimit - 3), chunk);
        CHECK(deep.ec);
        CHECK(deep.error.find("nesting too deep") != std::string::npos);
    }
}

TEST_CASE("formats: raw control characters get the same verdict wherever the row sits", "[formats]") {
    const std::string fields = R"({"fields":{"dimensions":[{"name":"u.id","tags":["user_id"]}]},"data":[)";
    const std::string bad_row =
        "{\"u.id\":{\"value\":\"a\x1c\x1c\x1c\x1c\x1c\x1c\x1c\x1c\x1c\x1c\x1c\x1c\x1c\x1c\x1c\x1c\x1c\x1c\"}"
        "}";
    const std::string good_row = R"({"u.id":{"value":"b"}})";
    for (std::size_t pad = 0; pad < 17; ++pad) {
        const std::string doc = fields + std::string(pad, ' ') + bad_row + "," + good_row + "]}";
        const auto whole = run_mapper(standard_options(), ResultFormat::json_detail, doc);
        const auto split = run_mapper(standard_options(), ResultFormat::json_detail, doc, 3);
        INFO("padding " << pad);
        CHECK(whole.summary.rejected == split.summary.rejected);
        CHECK(whole.sink.events == split.sink.events);
        CHECK(whole.summary.accepted == 1);
    }
}
