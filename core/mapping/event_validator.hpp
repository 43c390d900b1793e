// The last check before an event is accepted: what Segment would refuse or mangle. The
// mappers guarantee ids, flat traits and finite numbers by construction (and RapidJSON
// refuses out-of-range numbers when a row is parsed); this checks the serialized bytes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace lsr::core {

class EventValidator {
  public:
    explicit EventValidator(std::uint32_t max_event_bytes) : max_event_bytes_(max_event_bytes) {}

    // The reason for a rejection, or nullopt when the event may go.
    std::optional<std::string> check(std::string_view json, std::string_view message_id) const;

    static bool valid_utf8(std::string_view s);

  private:
    std::uint32_t max_event_bytes_;
};

}  // namespace lsr::core
