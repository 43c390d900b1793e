// The delivery state of one write key: its own token bucket (cfg.per_write_key), its own cap
// on requests in flight, its own pause until a Retry-After ends, and what is known of its
// due batches. The in-flight cap adapts (AIMD): it starts at max_in_flight, halves on a
// congestion answer (429, 5xx, no answer) and grows by one per success, between 1 and
// max_in_flight, so a struggling endpoint gets fewer parallel requests from this key. Its
// health (core::KeyHealth) turns a failing key into one probe at a time and, when a probe
// succeeds, makes every waiting batch of the key due at once. No I/O and no clock: the
// dispatcher passes the time (wall ms) in. Used on the dispatcher's strand only.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>

#include "config/config.hpp"
#include "core/delivery/key_health.hpp"
#include "core/delivery/token_bucket.hpp"

namespace lsr::server {

class WriteKeyQueue {
  public:
    static constexpr std::int64_t kNever = std::numeric_limits<std::int64_t>::max();

    WriteKeyQueue(std::string write_key, const config::WriteKeyLimits& limits, std::int64_t now_ms,
                  const core::RetrySettings& retry = {});

    const std::string& write_key() const { return write_key_; }
    // For logs and /status: the first 4 characters and an ellipsis, never the whole key.
    static std::string short_key(const std::string& write_key);

    // How many batches may be leased now: free in-flight slots (one probe while failing),
    // bounded by the tokens left; 0 while paused. `tokens_limited` tells whether the bucket was the bound.
    std::size_t capacity(std::int64_t now_ms, bool* tokens_limited = nullptr);
    // Takes n tokens (n <= capacity) for a lease of n; give back the unused part.
    void take(std::int64_t now_ms, std::size_t n);
    void refund(std::size_t n);
    std::int64_t next_token_ms(std::int64_t now_ms);  // when one token will be there

    void on_send() { ++in_flight_; }
    void on_settled() {
        if (in_flight_ > 0) --in_flight_;
    }
    std::uint32_t in_flight() const { return in_flight_; }
    std::uint32_t max_in_flight() const { return max_in_flight_; }
    std::uint32_t in_flight_limit() const { return limit_; }
    // AIMD on the in-flight cap: true for 429, 5xx and no answer; false for a 2xx.
    void on_congestion() { limit_ = std::max<std::uint32_t>(1, limit_ / 2); }
    void on_success() {
        if (limit_ < max_in_flight_) ++limit_;
    }

    // Pause the whole key (Retry-After); a later, shorter pause never shortens it.
    void pause_until(std::int64_t until_ms);
    bool paused(std::int64_t now_ms) const { return now_ms < paused_until_ms_; }
    std::int64_t paused_until_ms() const { return paused_until_ms_; }

    // Earliest next_attempt_ms of its unleased batches, as far as known (kNever: none).
    std::int64_t next_due_ms() const { return next_due_ms_; }
    void set_next_due(std::int64_t ms) { next_due_ms_ = ms; }
    void lower_next_due(std::int64_t ms) {
        if (ms < next_due_ms_) next_due_ms_ = ms;
    }

    // When the pump should lease next (kNever: wait for news), and the time a lease passes
    // to the spool (see core::KeyHealth).
    std::int64_t due_at(std::int64_t now_ms) const {
        return health_.due_at(now_ms, next_due_ms_, in_flight_);
    }
    std::int64_t lease_horizon(std::int64_t now_ms) const {
        return health_.lease_horizon(now_ms, next_due_ms_);
    }
    const core::KeyHealth& health() const { return health_; }
    std::uint64_t send_epoch() const { return health_.send_epoch(); }
    void on_failed_request(std::int64_t now_ms, std::uint64_t send_epoch, double jitter) {
        health_.on_failure(now_ms, send_epoch, jitter);
    }
    // True when this success ends a failure streak (the key's waiting batches are due now).
    bool on_successful_request(std::uint64_t send_epoch) { return health_.on_success(send_epoch); }
    void end_recovery() { health_.end_recovery(); }

    bool leasing = false;  // a lease_due call is under way
    std::string last_error;
    std::uint64_t delivered_batches = 0;
    std::uint64_t failed_attempts = 0;
    std::uint64_t dead_lettered_batches = 0;

  private:
    std::string write_key_;
    core::TokenBucket bucket_;
    core::KeyHealth health_;
    std::uint32_t max_in_flight_;
    std::uint32_t limit_;
    std::uint32_t in_flight_ = 0;
    std::int64_t paused_until_ms_ = 0;
    std::int64_t next_due_ms_ = 0;  // unknown at first: look now
};

}  // namespace lsr::server
