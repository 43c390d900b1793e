#include "core/core_error.hpp"

#include <string>

namespace lsr::core {
namespace {

class CoreCategory final : public std::error_category {
  public:
    const char* name() const noexcept override { return "lsr-core"; }
    std::string message(int value) const override {
        switch (static_cast<CoreError>(value)) {
            case CoreError::ok:
                return "ok";
            case CoreError::invalid_json:
                return "invalid JSON";
            case CoreError::too_deep:
                return "JSON nesting too deep";
            case CoreError::too_large:
                return "value too large";
            case CoreError::invalid_escape:
                return "invalid escape in JSON string";
            case CoreError::invalid_base64:
                return "invalid base64";
            case CoreError::truncated:
                return "input truncated";
            case CoreError::invalid_results:
                return "unexpected result document";
            case CoreError::missing_tagged_field:
                return "no field tagged for identity";
            case CoreError::missing_cell:
                return "row misses a field";
            case CoreError::hub_pivot_null:
                return "null inside a pivot";
            case CoreError::invalid_csv:
                return "invalid CSV";
            case CoreError::finished:
                return "already finished";
        }
        return "unknown core error";
    }
};

}  // namespace

const std::error_category& core_category() {
    static const CoreCategory category;
    return category;
}

std::error_code make_error_code(CoreError e) {
    return {static_cast<int>(e), core_category()};
}

}  // namespace lsr::core
