#include "core/delivery/write_key_queue.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

namespace lsr::core {

WriteKeyQueue::WriteKeyQueue(std::string write_key, const WriteKeyLimits& limits, std::int64_t now_ms,
                             const RetrySettings& retry)
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

WriteKeyQueue::Step WriteKeyQueue::next_step(std::int64_t now_ms) {
    Step step;
    if (leasing_) {
        return step;  // its answer pumps again
    }
    if (paused(now_ms)) {
        step.kind = Step::Kind::wait_until;
        step.at_ms = paused_until_ms_;
        return step;
    }
    // Healthy: when the earliest batch is due. Failing: one probe at the key's probe time,
    // whatever batch it takes. Recovering: every waiting batch now (core::KeyHealth).
    const std::int64_t due = due_at(now_ms);
    if (due > now_ms) {
        if (due != kNever) {
            step.kind = Step::Kind::wait_until;
            step.at_ms = due;
        }
        return step;
    }
    bool tokens_limited = false;
    const std::size_t cap = capacity(now_ms, &tokens_limited);
    if (cap == 0) {
        if (tokens_limited) {
            step.kind = Step::Kind::wait_until;
            step.at_ms = next_token_ms(now_ms);
        }
        return step;  // otherwise all slots are busy: a settle pumps again
    }
    take(now_ms, cap);
    leasing_ = true;
    step.kind = Step::Kind::lease;
    step.count = cap;
    step.horizon_ms = lease_horizon(now_ms);
    return step;
}

void WriteKeyQueue::end_lease(std::size_t asked, std::size_t got) {
    leasing_ = false;
    if (got < asked) {
        refund(asked - got);
        // None due as of the lease's read. Unless batches were announced meanwhile (their
        // commit may postdate that read), wait for polls and settles to tell more.
        if (!hinted_) {
            next_due_ms_ = kNever;
        }
        end_recovery();  // every waiting batch has been taken
    }
    hinted_ = false;
}

void WriteKeyQueue::hint_due(std::int64_t ms) {
    lower_next_due(ms);
    if (leasing_) {
        hinted_ = true;
    }
}

WriteKeyQueue::AnswerEffect WriteKeyQueue::on_answer(const SettleDecision& d, std::int64_t now_ms,
                                                     std::uint64_t send_epoch) {
    using Kind = SettleDecision::Kind;
    AnswerEffect effect;
    if (d.kind != Kind::deliver) {
        last_error_ = d.reason;
    }
    if (d.kind == Kind::local_failure) {
        return effect;  // nothing went out: says nothing of Segment
    }
    if (d.congestion) {
        on_congestion();
    } else if (d.kind == Kind::deliver) {
        on_success();
    }
    if (d.failed_request) {
        on_failed_request(now_ms, send_epoch, d.probe_jitter);
    } else if (d.kind == Kind::deliver) {
        const bool was_failing = health_.failing();
        if (on_successful_request(send_epoch)) {
            effect.recovered = was_failing;
            hint_due(now_ms);
        }
    }
    if (d.kind == Kind::retry) {
        ++failed_attempts_;
        if (d.pause) {
            effect.pause_began = !paused(now_ms + d.delay_ms - 1);
            pause_until(now_ms + d.delay_ms);
        }
    }
    return effect;
}

void WriteKeyQueue::record(const SettleDecision& d) {
    if (d.kind == SettleDecision::Kind::deliver) {
        ++delivered_batches_;
    } else if (d.dead_letter()) {
        ++dead_lettered_batches_;
    }
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

}  // namespace lsr::core
