// Small text helpers shared by the parsers and the edges.
#pragma once

#include <string>
#include <string_view>

namespace lsr::core {

// ASCII case-insensitive equality (column names, header values).
bool equals_ci(std::string_view a, std::string_view b);

// True when the whole of `s` is a number in JSON's grammar: -?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?
bool is_json_number(std::string_view s);

// Appends `s` as a quoted JSON string (control characters escaped; bytes >= 0x80 as they are).
void append_json_string(std::string& out, std::string_view s);
std::string json_string(std::string_view s);

}  // namespace lsr::core
