// The three Segment calls the hub's actions make, and the action names Looker knows them by.
#pragma once

#include <optional>
#include <string_view>

namespace lsr::core {

enum class CallType { identify, track, group };

std::string_view call_type_name(CallType call);  // "identify" | "track" | "group"
std::string_view action_name(CallType call);     // "segment_event" | "segment_track" | "segment_group"
std::optional<CallType> call_type_from_action(std::string_view action_name);
std::optional<CallType> parse_call_type(std::string_view name);  // "identify" | "track" | "group"

}  // namespace lsr::core
