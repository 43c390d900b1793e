// Small text helpers shared by the parsers and the edges.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace lsr::core {

// ASCII case-insensitive equality (column names, header values).
bool equals_ci(std::string_view a, std::string_view b);

// True when the whole of `s` is a number in JSON's grammar: -?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?
bool is_json_number(std::string_view s);

// An id or a count as operators and query strings write it: decimal digits only, 1 .. 10^18 - 1;
// nullopt otherwise (empty, a sign, a leading space, zero, too long).
std::optional<std::int64_t> parse_positive_int(std::string_view text);

// "an object", "an array", "a string", "a number", "a boolean" or "null", from the first
// byte of a JSON value (for messages).
std::string_view json_value_kind(char first);

// U+FFFD, written in place of each byte that is not part of a valid UTF-8 sequence.
inline constexpr std::string_view kReplacementCharacter = "\xEF\xBF\xBD";

// The length of the valid UTF-8 sequence (RFC 3629: no overlong forms, surrogates or code
// points above U+10FFFF) starting at s[i], or 0 when s[i] does not start one.
std::size_t utf8_sequence_length(std::string_view s, std::size_t i);

// Appends `s` as a quoted JSON string that is always valid UTF-8: control characters
// escaped, valid multi-byte sequences kept, every other byte replaced by U+FFFD. Every
// JSON text the relay writes from outside data (answers, error bodies, log lines) goes
// through here, so a request value can never make the relay write invalid JSON.
void append_json_string(std::string& out, std::string_view s);
std::string json_string(std::string_view s);

// `s` with every byte that is not part of a valid UTF-8 sequence replaced by U+FFFD.
std::string valid_utf8_text(std::string_view s);

}  // namespace lsr::core
