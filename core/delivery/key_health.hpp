// Whether a write key's requests are getting through, as a half-open circuit: pure logic,
// no clock (the caller passes the time, wall ms) and no randomness (the caller passes the
// jitter, uniform in [0, 1)).
//
// - healthy: batches are sent when they are due (each by its own next_attempt_ms).
// - failing: entered when a request gets a retryable answer (no answer, 408, 429, 5xx ...).
//   Only one request (the probe) is in flight at a time, at the key's own probe schedule:
//   capped exponential backoff with full jitter over the key's consecutive failed probes,
//   base `base_delay_ms`, ceiling min(max_delay_ms, kProbeCeilingMs). The probe takes the
//   waiting batch due soonest, even before its own next_attempt_ms, so a recovery is seen
//   within one probe interval, not after the longest batch backoff; a failed probe batch is
//   rescheduled behind the others, so one batch Segment keeps failing does not stand for
//   the whole key.
// - recovering: a probe (a request sent while failing) succeeded. Every waiting batch of
//   the key is due at once, until the key has none waiting (the caller ends it when a lease
//   comes back short) or it fails again.
//
// - unproven: no request of this key has been answered yet in this process (a restart, say).
//   If its waiting batches are all waiting out backoffs from before, one probe goes now (the
//   batch due soonest); its success makes them all due, as after a failure streak.
//
// Answers to requests sent before the current failure streak began do not move the state:
// their success says nothing about the endpoint now, and their failure must not push the
// probe out. Each send carries the epoch it was sent in (send_epoch()).
#pragma once

#include <cstdint>
#include <limits>

#include "core/delivery/backoff_policy.hpp"

namespace lsr::core {

class KeyHealth {
  public:
    static constexpr std::int64_t kNever = std::numeric_limits<std::int64_t>::max();
    static constexpr std::uint32_t kProbeCeilingMs = 5'000;

    KeyHealth(std::uint32_t base_delay_ms, std::uint32_t max_delay_ms);

    bool failing() const { return failing_; }
    bool proven() const { return proven_; }
    bool recovering() const { return recovering_; }
    std::uint32_t failed_probes() const { return failures_; }
    std::int64_t next_probe_ms() const { return failing_ ? next_probe_ms_ : 0; }
    std::uint64_t send_epoch() const { return epoch_; }

    // A retryable answer (or none) to a request sent in `send_epoch`.
    void on_failure(std::int64_t now_ms, std::uint64_t send_epoch, double jitter);
    // A 2xx to a request sent in `send_epoch`. True when it ends a failure streak, or is the
    // key's first answer: the key's waiting batches are due now.
    bool on_success(std::uint64_t send_epoch);
    // The key has no batch waiting any more: back to each batch's own schedule.
    void end_recovery() { recovering_ = false; }

    // How many more requests may be in flight (of `limit`, with `in_flight` under way).
    std::uint32_t slots(std::int64_t now_ms, std::uint32_t in_flight, std::uint32_t limit) const;
    // When the next lease may happen, given the earliest next_attempt_ms of the key's
    // waiting batches (kNever: none known) and the requests in flight. kNever: wait for news.
    std::int64_t due_at(std::int64_t now_ms, std::int64_t earliest_ms, std::uint32_t in_flight) const;
    // The `now` a lease passes to the spool: batches due by then are taken. `earliest_ms` as
    // for due_at.
    std::int64_t lease_horizon(std::int64_t now_ms, std::int64_t earliest_ms) const;

  private:
    BackoffPolicy probe_backoff_;
    bool proven_ = false;
    bool failing_ = false;
    bool recovering_ = false;
    std::uint32_t failures_ = 0;
    std::int64_t next_probe_ms_ = 0;
    std::uint64_t epoch_ = 0;
};

}  // namespace lsr::core
