// Packs serialized events into /v1/batch bodies: at most max_events events and
// max_bytes bytes once the envelope (envelope_reserve bytes: "batch", sentAt, writeKey)
// is added. Body format: the events joined by ",\n" (docs/ARCHITECTURE.md).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace lsr::core {

struct BatchLimits {
    std::uint32_t max_events = 2500;
    std::uint32_t max_bytes = 475000;
    std::uint32_t max_event_bytes = 32000;
    std::size_t envelope_reserve = 512;
};

struct Batch {
    std::string body;
    std::uint32_t events = 0;
};

class BatchBuilder {
  public:
    explicit BatchBuilder(BatchLimits limits);

    // Adds one event. When it would not fit, the batch built so far is returned and the
    // event starts the next one. The mapper rejects events above max_event_bytes; one
    // that still arrives gets a batch of its own, so Segment's 400 isolates it and the
    // others are not held back.
    // The body's capacity is reserved once per batch (max_bytes), so appending is cheap.
    std::optional<Batch> add(std::string_view event_json);
    std::optional<Batch> flush();  // the batch in progress, if any
    // Hands a finished body back (after it was stored) so the next batch reuses its memory
    // instead of faulting in a fresh max_bytes buffer.
    void recycle(std::string&& body);

    std::uint32_t pending_events() const { return current_.events; }
    std::size_t pending_bytes() const { return current_.body.size(); }

  private:
    bool fits(std::size_t event_bytes) const;

    BatchLimits limits_;
    Batch current_;
    bool oversized_ = false;  // the current batch holds one event above max_event_bytes
    std::string spare_;
};

}  // namespace lsr::core
