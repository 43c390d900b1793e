#include "core/delivery/settle_decision.hpp"

#include <optional>
#include <utility>

#include "core/delivery/batch_envelope.hpp"
#include "core/delivery/body_compressor.hpp"
#include "core/delivery/delivery_outcome.hpp"
#include "core/delivery/retry_after.hpp"
#include "core/delivery/stored_body.hpp"

namespace lsr::core {

namespace {

constexpr std::string_view kLocalFailure = "a batch could not be sent for a local reason; dead-lettered";
constexpr std::string_view kRejected = "segment rejected a batch; dead-lettered";
constexpr std::string_view kGaveUp = "segment batch too old to retry; dead-lettered";
constexpr std::string_view kWillRetry = "segment batch failed; will retry";

void reject(SettleDecision& d) {
    d.kind = SettleDecision::Kind::reject;
    d.metric_reason = "http_" + std::to_string(d.status);
    d.log_message = kRejected;
    d.log_severity = SettleDecision::Severity::warn;
}

// Halves of a batch of many; a body that does not split (no second half) is rejected. A
// body stored compressed is inflated first and both halves are stored compressed again (a
// rare path: a fresh compressor at the fastest level); one that does not inflate is rejected
// with the damage named in its reason (sending it again could not succeed).
void split(SettleDecision& d, std::string_view stored) {
    std::string plain;
    const bool compressed = StoredBody::compressed(stored);
    if (compressed) {
        std::string error;
        if (!StoredBody::decode(stored, plain, error)) {
            reject(d);
            d.reason += "; " + error;
            return;
        }
    }
    auto [first, second] = BatchEnvelope::split_half(compressed ? std::string_view(plain) : stored);
    if (second.empty()) {
        return reject(d);
    }
    d.kind = SettleDecision::Kind::split;
    d.halves.first_events = BatchEnvelope::count_events(first);
    d.halves.second_events = BatchEnvelope::count_events(second);
    if (compressed) {
        BodyCompressor compressor(BodyCompressor::kMinLevel);
        for (std::string* half : {&first, &second}) {
            std::string out;
            if (compressor.store(*half, out)) *half = std::move(out);
        }
    }
    d.halves.first = std::move(first);
    d.halves.second = std::move(second);
}

}  // namespace

SettleDecision SettleDecision::local(std::string_view error) {
    // Sending it again would fail the same way, and must not hold up the key's other batches.
    SettleDecision d;
    d.kind = Kind::local_failure;
    d.reason = "local: " + std::string(error);
    d.metric_reason = "local";
    d.log_message = kLocalFailure;
    d.log_severity = Severity::error;
    return d;
}

SettleDecision SettleDecision::decide(const Answer& answer, const Batch& batch,
                                      const core::RetrySettings& retry, std::int64_t now_ms,
                                      BackoffPolicy& backoff) {
    if (answer.local) {
        return local(answer.error);
    }
    SettleDecision d;
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
            split(d, batch.body);
            return d;
        case DeliveryAction::dead_letter:
            reject(d);
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
        d.log_message = kGaveUp;
        d.log_severity = Severity::warn;
        return d;
    }
    d.kind = Kind::retry;
    d.log_message = kWillRetry;
    d.log_severity = batch.attempts == 0 ? Severity::info : Severity::debug;
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
        d.retry_after_s = static_cast<double>(d.delay_ms) / 1000.0;
    } else {
        d.delay_ms = backoff.next_delay_ms(batch.attempts);
    }
    d.next_attempt_ms = now_ms + d.delay_ms;
    return d;
}

}  // namespace lsr::core
