#include "core/iso_time.hpp"

#include <catch2/catch.hpp>

using lsr::core::format_iso8601_ms;
using lsr::core::parse_iso8601_ms;

TEST_CASE("iso time: formatting with milliseconds", "[time]") {
    CHECK(format_iso8601_ms(0) == "1970-01-01T00:00:00.000Z");
    CHECK(format_iso8601_ms(1501208719000) == "2017-07-28T02:25:19.000Z");
    CHECK(format_iso8601_ms(1796108122123) == "2026-12-01T06:55:22.123Z");
    CHECK(format_iso8601_ms(-1) == "1969-12-31T23:59:59.999Z");
    CHECK(format_iso8601_ms(951782400000) == "2000-02-29T00:00:00.000Z");
}

TEST_CASE("iso time: Looker's ran_at forms", "[time]") {
    CHECK(parse_iso8601_ms("2017-07-28T02:25:19+00:00") == 1501208719000);
    CHECK(parse_iso8601_ms("2017-07-28T02:25:19Z") == 1501208719000);
    CHECK(parse_iso8601_ms("2017-07-28T02:25:19.5Z") == 1501208719500);
    CHECK(parse_iso8601_ms("2017-07-28T02:25:19.123456Z") == 1501208719123);
    CHECK(parse_iso8601_ms("2017-07-28 02:25:19") == 1501208719000);
    CHECK(parse_iso8601_ms("2017-07-27T19:25:19-07:00") == 1501208719000);
    CHECK(parse_iso8601_ms("2017-07-28T04:25:19+0200") == 1501208719000);
    CHECK(parse_iso8601_ms("2017-07-28T02:25Z") == 1501208700000);
    CHECK(parse_iso8601_ms("2017-07-28") == 1501200000000);
    CHECK_FALSE(parse_iso8601_ms(""));
    CHECK_FALSE(parse_iso8601_ms("yesterday"));
    CHECK_FALSE(parse_iso8601_ms("2017-13-28T00:00:00Z"));
    CHECK_FALSE(parse_iso8601_ms("2017-07-28T02:25:19+00:00 extra"));
}
