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
    if (current_.events > 0) current_.body.append(kSeparator);
    // A new batch (after flush() the body is a moved-from string: empty, with the small
    // string's capacity, never 0) takes the recycled buffer or reserves max_bytes once.
    if (current_.events == 0 && current_.body.capacity() < limits_.max_bytes) {
        current_.body = std::move(spare_);
        current_.body.clear();
        current_.body.reserve(limits_.max_bytes);
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
