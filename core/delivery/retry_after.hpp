// How long Segment asked us to wait, from Retry-After (delta-seconds or HTTP-date) or, when
// that is absent or unusable, X-RateLimit-Reset read defensively (Segment material disagrees
// on its format, reference/segment-http-api.md §3.2):
//   a number below 1e9            -> seconds to wait (fractions allowed)
//   a number in [1e9, 1e11)       -> epoch seconds
//   a number from 1e11            -> epoch milliseconds
//   anything else                 -> an HTTP-date
// The result is floored at 1 s and capped at cap_ms (a cap below 1 s still yields 1 s).
// Pure: the wall clock is passed in.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace lsr::core {

class RetryAfter {
  public:
    static constexpr std::int64_t kFloorMs = 1000;

    // Delay in milliseconds, or nullopt when neither header holds a usable value.
    static std::optional<std::int64_t> delay_ms(std::string_view retry_after,
                                                std::string_view x_ratelimit_reset, std::int64_t now_ms,
                                                std::uint32_t cap_ms);

    // Retry-After alone: delta-seconds or HTTP-date; the unclamped delay (may be <= 0 for a
    // date in the past).
    static std::optional<std::int64_t> parse_retry_after(std::string_view value, std::int64_t now_ms);
    // X-RateLimit-Reset alone, by the rules above; unclamped.
    static std::optional<std::int64_t> parse_rate_limit_reset(std::string_view value, std::int64_t now_ms);
    // IMF-fixdate, RFC 850 or asctime (RFC 9110 §5.6.7), in GMT; epoch milliseconds.
    static std::optional<std::int64_t> parse_http_date(std::string_view value);
};

}  // namespace lsr::core
