// Error codes of the core library. Hot paths return std::error_code; the human text for
// Looker lives next to the code in each component's error_message().
#pragma once

#include <system_error>

namespace lsr::core {

enum class CoreError {
    ok = 0,
    invalid_json,          // syntax error in a JSON document
    too_deep,              // nesting beyond the scanner's limit
    too_large,             // a captured value or the envelope exceeds its limit
    invalid_escape,        // bad escape sequence inside a JSON string
    invalid_base64,        // bad base64 attachment
    truncated,             // input ended inside a value
    invalid_results,       // result document has an unexpected shape
    missing_tagged_field,  // no field carries an identity tag
    missing_cell,          // a field of `fields` has no cell in a row (hub mode)
    hub_pivot_null,        // the public hub's TypeError on a null inside a pivot map
    invalid_csv,           // unterminated quote or similar
    finished,              // feed() after finish()
};

const std::error_category& core_category();
std::error_code make_error_code(CoreError e);

}  // namespace lsr::core

template <>
struct std::is_error_code_enum<lsr::core::CoreError> : std::true_type {};
