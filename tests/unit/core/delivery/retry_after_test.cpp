#include "core/delivery/retry_after.hpp"

#include <catch2/catch.hpp>

using lsr::core::RetryAfter;

namespace {
// 2026-12-01T07:00:00Z
constexpr std::int64_t kNow = 1'796'108'400'000;
constexpr std::uint32_t kCap = 300'000;
}  // namespace

TEST_CASE("RetryAfter: HTTP dates in the three formats") {
    // 1994-11-06T08:49:37Z = 784111777 s
    CHECK(RetryAfter::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT") == 784'111'777'000);
    CHECK(RetryAfter::parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT") == 784'111'777'000);
    CHECK(RetryAfter::parse_http_date("Sun Nov  6 08:49:37 1994") == 784'111'777'000);
    CHECK(RetryAfter::parse_http_date("Tue, 01 Dec 2026 07:00:00 GMT") == kNow);
    CHECK(RetryAfter::parse_http_date("  Tue, 01 Dec 2026 07:00:00 UTC ") == kNow);
    CHECK(RetryAfter::parse_http_date("01 Dec 2026 07:00:00 GMT") == kNow);  // weekday optional
    CHECK(RetryAfter::parse_http_date("Thu, 29 Feb 2024 00:00:00 GMT") == 1'709'164'800'000);
    CHECK(RetryAfter::parse_http_date("Sat, 01 Jan 2000 00:00:00 GMT") == 946'684'800'000);
}

TEST_CASE("RetryAfter: malformed dates are refused") {
    for (const char* bad :
         {"", "GMT", "Tue, 32 Dec 2026 07:00:00 GMT", "Tue, 29 Feb 2025 07:00:00 GMT",
          "Tue, 01 Foo 2026 07:00:00 GMT", "Tue, 01 Dec 2026 25:00:00 GMT", "Tue, 01 Dec 2026 07:00 GMT",
          "Tue, 01 Dec 2026 07:00:00 PST", "Tue, 01 Dec 2026 07:00:00 GMT extra",
          "Tue, 01 Dec 26026 07:00:00 GMT", "Tue, 01 Dec 1969 07:00:00 GMT", "tomorrow"}) {
        INFO(bad);
        CHECK_FALSE(RetryAfter::parse_http_date(bad).has_value());
    }
}

TEST_CASE("RetryAfter: delta-seconds") {
    CHECK(RetryAfter::delay_ms("5", "", kNow, kCap) == 5000);
    CHECK(RetryAfter::delay_ms(" 120 ", "", kNow, kCap) == 120'000);
    CHECK(RetryAfter::delay_ms("1.5", "", kNow, kCap) == 1500);
    CHECK(RetryAfter::delay_ms("0", "", kNow, kCap) == 1000);        // floor
    CHECK(RetryAfter::delay_ms("0.2", "", kNow, kCap) == 1000);      // floor
    CHECK(RetryAfter::delay_ms("3600", "", kNow, kCap) == 300'000);  // cap
    CHECK(RetryAfter::delay_ms("99999999999999999999", "", kNow, kCap) == 300'000);
    CHECK(RetryAfter::delay_ms("10", "", kNow, 500) == 1000);  // cap below the floor
}

TEST_CASE("RetryAfter: HTTP-date Retry-After is relative to now") {
    CHECK(RetryAfter::delay_ms("Tue, 01 Dec 2026 07:00:30 GMT", "", kNow, kCap) == 30'000);
    CHECK(RetryAfter::delay_ms("Tue, 01 Dec 2026 06:00:00 GMT", "", kNow, kCap) == 1000);  // past
    CHECK(RetryAfter::delay_ms("Wed, 02 Dec 2026 07:00:00 GMT", "", kNow, kCap) == 300'000);
}

TEST_CASE("RetryAfter: unusable values give nothing") {
    CHECK_FALSE(RetryAfter::delay_ms("", "", kNow, kCap).has_value());
    CHECK_FALSE(RetryAfter::delay_ms("soon", "", kNow, kCap).has_value());
    CHECK_FALSE(RetryAfter::delay_ms("-5", "", kNow, kCap).has_value());
    CHECK_FALSE(RetryAfter::delay_ms("5s", "", kNow, kCap).has_value());
    CHECK_FALSE(RetryAfter::delay_ms("1.2.3", "", kNow, kCap).has_value());
    CHECK_FALSE(RetryAfter::delay_ms("", "later", kNow, kCap).has_value());
}

TEST_CASE("RetryAfter: X-RateLimit-Reset read defensively") {
    // seconds to wait
    CHECK(RetryAfter::delay_ms("", "7", kNow, kCap) == 7000);
    CHECK(RetryAfter::delay_ms("", "0.35", kNow, kCap) == 1000);
    // epoch seconds
    CHECK(RetryAfter::delay_ms("", std::to_string(kNow / 1000 + 20), kNow, kCap) == 20'000);
    // epoch milliseconds
    CHECK(RetryAfter::delay_ms("", std::to_string(kNow + 350), kNow, kCap) == 1000);
    CHECK(RetryAfter::delay_ms("", std::to_string(kNow + 45'000), kNow, kCap) == 45'000);
    // in the past
    CHECK(RetryAfter::delay_ms("", std::to_string(kNow - 45'000), kNow, kCap) == 1000);
    // an HTTP date
    CHECK(RetryAfter::delay_ms("", "Tue, 01 Dec 2026 07:01:00 GMT", kNow, kCap) == 60'000);
    // absurdly large: refused
    CHECK_FALSE(RetryAfter::delay_ms("", "1000000000000000000", kNow, kCap).has_value());
}

TEST_CASE("RetryAfter: Retry-After wins over X-RateLimit-Reset; a bad one falls back") {
    CHECK(RetryAfter::delay_ms("3", "9", kNow, kCap) == 3000);
    CHECK(RetryAfter::delay_ms("garbage", "9", kNow, kCap) == 9000);
    CHECK(RetryAfter::parse_retry_after("Tue, 01 Dec 2026 06:59:00 GMT", kNow) == -60'000);
    CHECK(RetryAfter::parse_rate_limit_reset("12", kNow) == 12'000);
}
