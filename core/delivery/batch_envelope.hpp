// The /v1/batch request body around a batch body, built per attempt so sentAt is fresh,
// and the operations the dispatcher needs on stored bodies (split a rejected batch in two,
// count or list its events). A body is events joined by ",\n" (docs/ARCHITECTURE.md).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lsr::core {

class BatchEnvelope {
  public:
    // {"sentAt":"<sent_at_iso>","writeKey":"<write_key>","batch":[<body>]}
    // The part that changes per attempt comes first, so a body stored compressed is sent
    // as is after it (GzipEnvelope); the end, "]}", is StoredBody::kTail.
    static std::string build(std::string_view body, std::string_view sent_at_iso, std::string_view write_key);
    // {"sentAt":"<sent_at_iso>","writeKey":"<write_key>","batch":[
    static std::string prefix(std::string_view sent_at_iso, std::string_view write_key);
    // The size of build()'s result for `body_bytes` of events, with a sentAt of milliseconds.
    static std::size_t size(std::size_t body_bytes, std::string_view write_key);
    // The first half of the events and the rest; a single event stays in the first.
    static std::pair<std::string, std::string> split_half(std::string_view body);
    static std::uint32_t count_events(std::string_view body);
    static std::vector<std::string_view> events(std::string_view body);
};

}  // namespace lsr::core
