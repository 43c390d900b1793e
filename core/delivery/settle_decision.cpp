#include "core/delivery/settle_decision.hpp"

#include <optional>

#include "core/delivery/delivery_outcome.hpp"
#include "core/delivery/retry_after.hpp"

namespace lsr::core {

SettleDecision SettleDecision::decide(const Answer& answer, const Batch& batch,
                                      const core::RetrySettings& retry, std::int64_t now_ms,
                                      BackoffPolicy& backoff) {
    SettleDecision d;
    if (answer.local) {
        // Sending it again would fail the same way, and must not hold up the key's other batches.
        d.kind = Kind::local_failure;
        d.reason = "local: " + std::string(answer.error);
        d.metric_reason = "local";
        return d;
    }
    d.status = answer.answered ? answer.status : 0;
    const std::string_view detail =
        answer.answered ? answer.body_excerpt.substr(0, kDetailChars) : answer.error;
    d.reason = DeliveryOutcome::reason(d.status, detail);
    d.congestion = d.status == 0 || d.status == 429 || d.status >= 500;
    switch (DeliveryOutcome::classify(d.status, batch.events)) {
        case DeliveryAction::done:
            d.kind = Kind::deliver;
            return d;
        case DeliveryAction::split:
            d.kind = Kind::split;
            return d;
        case DeliveryAction::dead_letter:
            d.kind = Kind::reject;
            d.metric_reason = "http_" + std::to_string(d.status);
            return d;
        case DeliveryAction::retry:
            break;
    }
    d.failed_request = true;
    d.probe_jitter = backoff.draw();
    const std::int64_t age_ms = now_ms - batch.created_ms;
    if (age_ms > static_cast<std::int64_t>(retry.give_up_after_s) * 1000) {
        d.kind = Kind::give_up;
        d.reason = "gave up after " + std::to_string(age_ms / 1000) + " s and " +
                   std::to_string(batch.attempts + 1) + " attempts: " + d.reason;
        d.metric_reason = "gave_up";
        return d;
    }
    d.kind = Kind::retry;
    std::optional<std::int64_t> wait;
    if (d.status != 0) {
        // Retry-After is honoured on any retryable answer (an explicit instruction);
        // X-RateLimit-Reset only on a 429, where Segment documents it: on other answers it
        // may be informational and must not pause a key.
        const std::string_view reset = d.status == 429 ? answer.rate_limit_reset : std::string_view();
        wait = RetryAfter::delay_ms(answer.retry_after, reset, now_ms, retry.retry_after_cap_ms);
    }
    if (wait) {
        d.pause = true;
        d.delay_ms = *wait;
    } else {
        d.delay_ms = backoff.next_delay_ms(batch.attempts);
    }
    return d;
}

}  // namespace lsr::core
