#include "server/delivery/write_key_queue.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

namespace lsr::server {

WriteKeyQueue::WriteKeyQueue(std::string write_key, const config::WriteKeyLimits& limits, std::int64_t now_ms,
                             const core::RetrySettings& retry)
    : write_key_(std::move(write_key)),
      bucket_(limits.requests_per_second, limits.burst, now_ms),
      health_(retry.base_delay_ms, retry.max_delay_ms),
      max_in_flight_(std::max<std::uint32_t>(limits.max_in_flight, 1)),
      limit_(max_in_flight_) {}

std::string WriteKeyQueue::short_key(const std::string& write_key) {
    if (write_key.size() <= 4) {
        return std::string(write_key.size(), '*') + "\u2026";
    }
    return write_key.substr(0, 4) + "\u2026";
}

std::size_t WriteKeyQueue::capacity(std::int64_t now_ms, bool* tokens_limited) {
    if (tokens_limited != nullptr) {
        *tokens_limited = false;
    }
    if (paused(now_ms)) {
        return 0;
    }
    const std::size_t slots = health_.slots(now_ms, in_flight_, limit_);
    if (slots == 0) {
        return 0;
    }
    if (bucket_.unlimited()) {
        return slots;
    }
    const auto tokens = static_cast<std::size_t>(std::max(0.0, bucket_.available(now_ms)));
    if (tokens < slots && tokens_limited != nullptr) {
        *tokens_limited = true;
    }
    return std::min(slots, tokens);
}

void WriteKeyQueue::take(std::int64_t now_ms, std::size_t n) {
    if (n > 0) {
        bucket_.try_take(now_ms, static_cast<double>(n));
    }
}

void WriteKeyQueue::refund(std::size_t n) {
    bucket_.refund(static_cast<double>(n));
}

std::int64_t WriteKeyQueue::next_token_ms(std::int64_t now_ms) {
    return now_ms + std::max<std::int64_t>(1, bucket_.ms_until(now_ms, 1.0));
}

void WriteKeyQueue::pause_until(std::int64_t until_ms) {
    paused_until_ms_ = std::max(paused_until_ms_, until_ms);
}

}  // namespace lsr::server
