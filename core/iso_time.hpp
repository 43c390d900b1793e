// UTC timestamps as Segment wants them, and the forms Looker writes ran_at in. Pure:
// the caller supplies the time.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace lsr::core {

// "2026-12-01T06:55:22.123Z"
std::string format_iso8601_ms(std::int64_t epoch_ms);

// ISO-8601 date-times as Looker writes them: "2017-07-28T02:25:19+00:00",
// "2017-07-28T02:25:19Z", fractions, "+0000" or "-07:00" offsets, a space instead of the
// 'T', no zone (taken as UTC), or a bare date. Returns epoch milliseconds.
std::optional<std::int64_t> parse_iso8601_ms(std::string_view text);

}  // namespace lsr::core
