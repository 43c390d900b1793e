#include "core/delivery/batch_builder.hpp"

#include <utility>

namespace lsr::core {
namespace {
constexpr std::string_view kSeparator = ",\n";
}

BatchBuilder::BatchBuilder(BatchLimits limits) : limits_(limits) {
    if (limits_.max_events == 0) limits_.max_events = 1;
}

bool BatchBuilder::fits(std::size_t event_bytes) const {
    if (current_.events == 0) return true;
    if (oversized_ || event_bytes > limits_.max_event_bytes) return false;
    if (current_.events >= limits_.max_events) return false;
    const std::size_t total =
        current_.body.size() + kSeparator.size() + event_bytes + limits_.envelope_reserve;
    return total <= limits_.max_bytes;
}

std::optional<Batch> BatchBuilder::add(std::string_view event_json) {
    std::optional<Batch> done;
    if (!fits(event_json.size())) done = flush();
    if (current_.events == 0) {
        // A new batch: the memory of a body handed back, else one allocation of max_bytes
        // (a default string has a small inline capacity, never 0: test for the batch, not it).
        if (spare_.capacity() > current_.body.capacity()) current_.body.swap(spare_);
        current_.body.clear();
        current_.body.reserve(limits_.max_bytes);
    } else {
        current_.body.append(kSeparator);
    }
    current_.body.append(event_json);
    ++current_.events;
    oversized_ = event_json.size() > limits_.max_event_bytes;
    return done;
}

void BatchBuilder::recycle(std::string&& body) {
    if (body.capacity() > spare_.capacity()) spare_ = std::move(body);
}

std::optional<Batch> BatchBuilder::flush() {
    if (current_.events == 0) return std::nullopt;
    Batch out = std::move(current_);
    current_ = Batch{};
    oversized_ = false;
    return out;
}

}  // namespace lsr::core
