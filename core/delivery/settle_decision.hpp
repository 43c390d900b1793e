// What the dispatcher does with a batch after one attempt to send it: the whole decision,
// pure (the wall clock is passed in, the jitter comes from the BackoffPolicy's injected
// source). DeliveryOutcome says what an HTTP status means for a batch; this adds what the
// relay knows besides: a local failure (nothing went out), the batch's age, Retry-After or
// X-RateLimit-Reset, the backoff, and how a batch of many is split.
//
//   local failure (nothing went out)      -> local_failure: dead letter "local: <error>"
//   2xx                                   -> deliver
//   400/413 on a batch of many events     -> split in two halves (core::BatchEnvelope);
//                                            a body that cannot be split is rejected
//   a terminal answer (DeliveryOutcome)   -> reject: dead letter "http_<status>: <detail>"
//   retryable, batch older than give_up_after_s
//                                         -> give_up: dead letter "gave up after N s and M attempts:
//                                         <reason>"
//   retryable with a usable Retry-After (any status), or X-RateLimit-Reset (429 only)
//                                         -> retry after that wait, pausing the whole write key
//   retryable otherwise                   -> retry after the batch's backoff (its attempts so far)
//
// Besides, for the write key: 429, 5xx and no answer are congestion (the key's in-flight cap
// halves); every retryable answer, given up or not, is a failed request for the key's health,
// with its own jitter (drawn before the batch's backoff, from the same source). Each decision
// also names the line the log gets for it (message and severity); the dispatcher adds the
// batch's fields.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/delivery/backoff_policy.hpp"
#include "core/delivery/retry_settings.hpp"

namespace lsr::core {

struct SettleDecision {
    enum class Kind { deliver, split, retry, reject, give_up, local_failure };
    enum class Severity { none, debug, info, warn, error };

    // Where an answer's body excerpt is cut in a reason.
    static constexpr std::size_t kDetailChars = 160;

    struct Answer {
        bool local = false;      // nothing went out (or its answer could not be read), locally
        bool answered = true;    // false: no answer came (network error, timeout): status 0
        int status = 0;          // the HTTP status when answered
        std::string_view error;  // what went wrong, when local or not answered
        std::string_view body_excerpt;
        std::string_view retry_after;       // Retry-After, verbatim
        std::string_view rate_limit_reset;  // X-RateLimit-Reset, verbatim
    };

    struct Batch {
        std::uint32_t events = 0;
        std::uint32_t attempts = 0;  // attempts before this one
        std::int64_t created_ms = 0;
        std::string_view body;  // its stored form (core::StoredBody): what a split divides
    };

    // A split's two new batches (the first half of the events and the rest), in the stored
    // form of the batch they come from (compressed if it was).
    struct Halves {
        std::string first;
        std::string second;
        std::uint32_t first_events = 0;
        std::uint32_t second_events = 0;
    };

    // `backoff` draws the jitter: the key's probe jitter on a retryable answer, then the
    // batch's backoff when it is retried without a wait asked by Segment.
    static SettleDecision decide(const Answer& answer, const Batch& batch, const core::RetrySettings& retry,
                                 std::int64_t now_ms, BackoffPolicy& backoff);
    // A batch whose answer could not be handled for a local reason (`error`): dead-lettered
    // as a local failure.
    static SettleDecision local(std::string_view error);

    Kind kind = Kind::deliver;
    int status = 0;                    // the answer's status; 0 when none came (or a local failure)
    std::string reason;                // the batch's last error; a dead letter's reason
    std::string metric_reason;         // dead letters: "local", "http_<status>", "gave_up"
    bool congestion = false;           // 429, 5xx or no answer: halve the key's in-flight cap
    bool failed_request = false;       // retryable: a failed request for the key's health ...
    double probe_jitter = 0;           // ... which schedules its next probe with this jitter
    std::int64_t delay_ms = 0;         // retry: the next attempt is this far from now ...
    std::int64_t next_attempt_ms = 0;  // ... at this wall time
    bool pause = false;                // retry: Segment asked to wait delay_ms: pause the whole key
    double retry_after_s = 0;          // retry: the wait Segment asked for (metrics), 0 if none
    Halves halves;                     // split: the two new batches
    std::string_view log_message;      // what the log says of it (empty: nothing)
    Severity log_severity = Severity::none;

    bool dead_letter() const {
        return kind == Kind::reject || kind == Kind::give_up || kind == Kind::local_failure;
    }
};

}  // namespace lsr::core
