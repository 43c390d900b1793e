// Where ResultMapper hands its output: every accepted event, serialized, and every
// rejected row with its reason. The server's sink feeds a BatchBuilder; preview prints.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace lsr::core {

struct MappedEvent {
    std::string_view json;  // compact; valid only during the callback
    std::string_view message_id;
    std::uint64_t row_index = 0;  // 0-based position in the result
};

struct RowReject {
    std::uint64_t row_index = 0;
    std::string reason;
};

class EventSink {
  public:
    virtual ~EventSink() = default;
    virtual void on_event(const MappedEvent& event) = 0;
    virtual void on_reject(const RowReject& reject) = 0;
};

}  // namespace lsr::core
