// How the operator tools (spool, runs, sync) print for people: write keys only by a prefix,
// sizes, ages and times in a readable form, table cells on one line and padded by columns.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace lsr::app {

class CliText {
  public:
    // Never the whole write key: its first 4 characters and an ellipsis.
    static std::string key_prefix(std::string_view key);
    static std::string human_bytes(std::uint64_t n);  // "1.5 MiB"
    static std::string human_age(std::int64_t ms);    // "3d 4h", "2m 5s"
    static std::string iso_utc(std::int64_t ms);      // "2026-12-05T18:00:00Z"
    // One line of text for a table cell: control characters become spaces; longer than `max`
    // bytes: cut at a character boundary, with an ellipsis.
    static std::string one_line(std::string_view s, std::size_t max);
    // `s` followed by spaces up to `width` columns (one per UTF-8 character).
    static std::string pad(std::string_view s, std::size_t width);
};

}  // namespace lsr::app
