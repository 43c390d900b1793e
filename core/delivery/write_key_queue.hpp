// The delivery state of one write key: its own token bucket (WriteKeyLimits), its own cap
// on requests in flight, its own pause until a Retry-After ends, and what is known of its
// due batches. The in-flight cap adapts (AIMD): it starts at max_in_flight, halves on a
// congestion answer (429, 5xx, no answer) and grows by one per success, between 1 and
// max_in_flight, so a struggling endpoint gets fewer parallel requests from this key. Its
// health (core::KeyHealth) turns a failing key into one probe at a time and, when a probe
// succeeds, makes every waiting batch of the key due at once.
//
// Pure: no I/O and no clock, the caller passes the time (wall ms) in. The dispatcher asks it
// what to do next (next_step: lease n batches, or wait), tells it what the lease brought
// (end_lease), applies each SettleDecision to it (on_answer) and counts each settled batch
// (record) and frees its slot (on_settled). Used on the dispatcher's strand only.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "core/delivery/key_health.hpp"
#include "core/delivery/retry_settings.hpp"
#include "core/delivery/settle_decision.hpp"
#include "core/delivery/token_bucket.hpp"
#include "core/delivery/write_key_limits.hpp"

namespace lsr::core {

class WriteKeyQueue {
  public:
    static constexpr std::int64_t kNever = std::numeric_limits<std::int64_t>::max();
    static constexpr std::string_view kRecoveredMessage =
        "segment answers the write key again; its waiting batches are due now";
    static constexpr std::string_view kPausedMessage = "segment asked to wait; pausing the write key";

    // What the pump does next for this key.
    struct Step {
        enum class Kind { lease, wait_until, wait_for_news };
        Kind kind = Kind::wait_for_news;
        std::int64_t at_ms = kNever;  // wait_until: wake up then (wall)
        std::size_t count = 0;        // lease: this many batches at most ...
        std::int64_t horizon_ms = 0;  // ... due by this time (the `now` passed to the spool)
    };

    // What applying an answer changed, for the log and the pump.
    struct AnswerEffect {
        bool recovered = false;    // a failing key answered again: its waiting batches are due now
        bool pause_began = false;  // the key is paused beyond any pause it had
    };

    WriteKeyQueue(std::string write_key, const WriteKeyLimits& limits, std::int64_t now_ms,
                  const RetrySettings& retry = {});

    const std::string& write_key() const { return write_key_; }
    // For logs and /status: the first 4 characters and an ellipsis, never the whole key.
    static std::string short_key(const std::string& write_key);

    // -- the pump's steps ---------------------------------------------------------------
    // Lease when something is due and slots and tokens allow (the tokens are taken and the
    // key is `leasing` until end_lease); otherwise when to look again. Nothing while leasing.
    Step next_step(std::int64_t now_ms);
    // A lease of `asked` brought `got` batches. Fewer: the unused tokens come back, nothing
    // more is due (unless hint_due said so meanwhile) and a recovery has taken every batch.
    void end_lease(std::size_t asked, std::size_t got);
    // Something became due at `ms` (a notify, a split, a reschedule).
    void hint_due(std::int64_t ms);
    // Nothing left of this key: none in the spool (`in_spool` false), none in flight or being
    // leased, no pause to remember.
    bool idle(std::int64_t now_ms, bool in_spool) const {
        return !in_spool && in_flight_ == 0 && !leasing_ && !paused(now_ms);
    }

    // -- answers ------------------------------------------------------------------------
    // The decision on an answer to a request sent in `send_epoch`: the in-flight cap, the
    // key's health, its pause and its last error follow it.
    AnswerEffect on_answer(const SettleDecision& d, std::int64_t now_ms, std::uint64_t send_epoch);
    // A batch's settle was written: counted as delivered or dead-lettered.
    void record(const SettleDecision& d);

    // -- the parts, public for tests and /status ------------------------------------------
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
    bool leasing() const { return leasing_; }
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
    const KeyHealth& health() const { return health_; }
    std::uint64_t send_epoch() const { return health_.send_epoch(); }
    void on_failed_request(std::int64_t now_ms, std::uint64_t send_epoch, double jitter) {
        health_.on_failure(now_ms, send_epoch, jitter);
    }
    // True when this success ends a failure streak (the key's waiting batches are due now).
    bool on_successful_request(std::uint64_t send_epoch) { return health_.on_success(send_epoch); }
    void end_recovery() { health_.end_recovery(); }

    const std::string& last_error() const { return last_error_; }
    std::uint64_t delivered_batches() const { return delivered_batches_; }
    std::uint64_t failed_attempts() const { return failed_attempts_; }
    std::uint64_t dead_lettered_batches() const { return dead_lettered_batches_; }

  private:
    std::string write_key_;
    TokenBucket bucket_;
    KeyHealth health_;
    std::uint32_t max_in_flight_;
    std::uint32_t limit_;
    std::uint32_t in_flight_ = 0;
    std::int64_t paused_until_ms_ = 0;
    std::int64_t next_due_ms_ = 0;  // unknown at first: look now
    bool leasing_ = false;          // a lease is under way
    bool hinted_ = false;           // batches became due while a lease was under way
    std::string last_error_;
    std::uint64_t delivered_batches_ = 0;
    std::uint64_t failed_attempts_ = 0;
    std::uint64_t dead_lettered_batches_ = 0;
};

}  // namespace lsr::core
