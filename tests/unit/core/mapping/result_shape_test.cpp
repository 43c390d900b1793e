// A result that is not a result (no root `data` array) is an error with a clear message,
// never a success with "0 rows"; `data: []` is a result with no rows.
#include <catch2/catch.hpp>

#include "mapper_test_support.hpp"

using namespace lsr::core;
using lsr::test::hub_options;
using lsr::test::run_mapper;
using lsr::test::standard_options;

namespace {

const std::string kFields = R"({"dimensions":[{"name":"u.id","tags":["user_id"]}]})";

}  // namespace

TEST_CASE("result shape: json_detail without a data array is refused", "[formats][shape]") {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"{}", "The result is not a Looker result: it has no \"data\" array of rows."},
        {R"({"data":5})",
         "The result is not a Looker result: its \"data\" is a number, not an array of rows."},
        {R"({"data":{}})",
         "The result is not a Looker result: its \"data\" is an object, not an array of rows."},
        {R"({"data":"rows"})",
         "The result is not a Looker result: its \"data\" is a string, not an array of rows."},
        {R"({"fields":)" + kFields + R"(,"data":null})",
         "The result is not a Looker result: its \"data\" is null, not an array of rows."},
        {R"({"fields":)" + kFields + R"(,"pivots":[{"data":[]}]})",
         "The result is not a Looker result: it has no \"data\" array of rows."},
    };
    for (const auto& [doc, message] : cases) {
        for (std::size_t chunk : {std::size_t(0), std::size_t(3)}) {
            for (const auto& options : {standard_options(), hub_options()}) {
                auto run = run_mapper(options, ResultFormat::json_detail, doc, chunk);
                INFO(doc);
                CHECK(run.ec);
                CHECK(run.error == message);
                CHECK(run.summary.rows == 0);
            }
        }
    }
}

TEST_CASE("result shape: json rows without rows are refused", "[formats][shape]") {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"{}", "The result is not a Looker result: it has no \"data\" array of rows."},
        {R"({"data":5})",
         "The result is not a Looker result: its \"data\" is a number, not an array of rows."},
        {R"({"data":{"a":1}})",
         "The result is not a Looker result: its \"data\" is an object, not an array of rows."},
        {"5", "The result is not a Looker result: it is a number, not rows."},
        {R"("text")", "The result is not a Looker result: it is a string, not rows."},
        // inline_json: the string must hold rows.
        {R"({"data":"5"})", "The result is not a Looker result: it is a number, not rows."},
    };
    for (const auto& [doc, message] : cases) {
        for (auto format : {ResultFormat::json, ResultFormat::inline_json}) {
            auto run = run_mapper(standard_options(), format, doc);
            INFO(doc);
            CHECK(run.ec);
            CHECK(run.error == message);
        }
    }
}

TEST_CASE("result shape: an empty data array is a success with 0 rows", "[formats][shape]") {
    for (const auto& options : {standard_options(), hub_options()}) {
        auto detail =
            run_mapper(options, ResultFormat::json_detail, R"({"fields":)" + kFields + R"(,"data":[]})");
        CHECK_FALSE(detail.ec);
        CHECK(detail.summary.rows == 0);
        auto bare = run_mapper(options, ResultFormat::json_detail, R"({"data":[]})");
        CHECK_FALSE(bare.ec);
        for (const std::string doc : {"[]", R"({"data":[]})", R"({"data":"[]"})"}) {
            auto rows = run_mapper(options, ResultFormat::json, doc);
            INFO(doc);
            CHECK_FALSE(rows.ec);
            CHECK(rows.summary.rows == 0);
        }
    }
}
