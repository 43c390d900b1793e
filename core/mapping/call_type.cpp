#include "core/mapping/call_type.hpp"

namespace lsr::core {

std::string_view call_type_name(CallType call) {
    switch (call) {
        case CallType::identify:
            return "identify";
        case CallType::track:
            return "track";
        case CallType::group:
            return "group";
    }
    return "identify";
}

std::string_view action_name(CallType call) {
    switch (call) {
        case CallType::identify:
            return "segment_event";  // the hub's historical name for Identify
        case CallType::track:
            return "segment_track";
        case CallType::group:
            return "segment_group";
    }
    return "segment_event";
}

std::optional<CallType> call_type_from_action(std::string_view name) {
    if (name == "segment_event") return CallType::identify;
    if (name == "segment_track") return CallType::track;
    if (name == "segment_group") return CallType::group;
    return std::nullopt;
}

std::optional<CallType> parse_call_type(std::string_view name) {
    if (name == "identify") return CallType::identify;
    if (name == "track") return CallType::track;
    if (name == "group") return CallType::group;
    return std::nullopt;
}

}  // namespace lsr::core
