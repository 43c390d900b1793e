// GCC 12 reports a false "potential null pointer dereference" inside Asio's executor
// comparison (any_executor::equal_ex); the pragma must precede the includes to reach it.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wnull-dereference"
#endif

#include <exception>
#include <string>
#include <utility>

#include "core/delivery/batch_envelope.hpp"
#include "core/delivery/settle_decision.hpp"
#include "server/delivery/delivery_dispatcher_impl.hpp"

namespace lsr::server {

using core::SettleDecision;

// -- answers ------------------------------------------------------------------------------
// An answer, or a local failure, for one batch. Whatever goes wrong while handling it
// (an exception from splitting, say) dead-letters the batch with the reason.
void DeliveryDispatcher::Impl::on_sent_guarded(const std::shared_ptr<SpoolBatch>& b, std::uint64_t epoch,
                                               SegmentResponse r) noexcept {
    std::string why;
    try {
        return on_sent(b, epoch, std::move(r));
    } catch (const std::exception& e) {
        why = e.what();
    } catch (...) {
        why = "unknown exception";
    }
    guard("dead letter", [&] {
        log.error("a batch could not be handled; dead-lettered",
                  {{"key", WriteKeyQueue::short_key(b->write_key)}, {"batch_id", b->id}, {"error", why}});
        settle_dead(b, 0, "local: " + why, "local");
    });
}

void DeliveryDispatcher::Impl::on_sent(const std::shared_ptr<SpoolBatch>& b, std::uint64_t epoch,
                                       SegmentResponse r) {
    const std::int64_t t = now();
    SettleDecision::Answer answer;
    answer.local = r.local;
    answer.answered = !r.ec;
    answer.status = r.status;
    answer.error = r.error;
    answer.body_excerpt = r.body_excerpt;
    answer.retry_after = r.retry_after;
    answer.rate_limit_reset = r.rate_limit_reset;
    const SettleDecision d = SettleDecision::decide(
        answer, SettleDecision::Batch{b->events, b->attempts, b->created_ms}, cfg.retry, t, backoff);
    const std::string short_key = WriteKeyQueue::short_key(b->write_key);
    if (d.kind == SettleDecision::Kind::local_failure) {
        // Nothing went out (or its answer could not be read).
        log.error("a batch could not be sent for a local reason; dead-lettered",
                  {{"key", short_key},
                   {"batch_id", b->id},
                   {"events", static_cast<std::int64_t>(b->events)},
                   {"reason", d.reason}});
        return settle_dead(b, 0, d.reason, d.metric_reason);
    }
    metrics.on_answer(d.status, b->events, static_cast<double>(r.duration.count()) / 1e6, t);
    Queue& q = queue(b->write_key);
    if (d.congestion) {
        q.state.on_congestion();
    } else if (d.kind == SettleDecision::Kind::deliver) {
        q.state.on_success();
    }
    if (d.failed_request) {
        q.state.on_failed_request(t, epoch, d.probe_jitter);
    } else if (d.kind == SettleDecision::Kind::deliver) {
        const bool was_failing = q.state.health().failing();
        if (q.state.on_successful_request(epoch)) {
            if (was_failing) {
                log.info(
                    "segment answers the write key again; its waiting batches "
                    "are due now",
                    {{"key", short_key}});
            }
            hint_due(q, t);
        }
    }
    switch (d.kind) {
        case SettleDecision::Kind::deliver:
            return settle_delivered(b);
        case SettleDecision::Kind::split:
            return settle_split(b, d.status, d.reason);
        case SettleDecision::Kind::reject:
            log.warn("segment rejected a batch; dead-lettered",
                     {{"key", short_key},
                      {"batch_id", b->id},
                      {"status", static_cast<std::int64_t>(d.status)},
                      {"events", static_cast<std::int64_t>(b->events)},
                      {"reason", d.reason}});
            return settle_dead(b, d.status, d.reason, d.metric_reason);
        case SettleDecision::Kind::give_up:
            log.warn("segment batch too old to retry; dead-lettered",
                     {{"key", short_key},
                      {"batch_id", b->id},
                      {"events", static_cast<std::int64_t>(b->events)},
                      {"reason", d.reason}});
            return settle_dead(b, d.status, d.reason, d.metric_reason);
        case SettleDecision::Kind::retry:
        case SettleDecision::Kind::local_failure:  // handled above
            break;
    }
    if (d.pause) {
        if (!q.state.paused(t + d.delay_ms - 1)) {
            log.warn("segment asked to wait; pausing the write key",
                     {{"key", short_key},
                      {"status", static_cast<std::int64_t>(d.status)},
                      {"wait_ms", d.delay_ms}});
        }
        q.state.pause_until(t + d.delay_ms);
    }
    if (b->attempts == 0 || log.enabled(LogLevel::debug)) {
        log.log(b->attempts == 0 ? LogLevel::info : LogLevel::debug, "segment batch failed; will retry",
                {{"key", short_key},
                 {"batch_id", b->id},
                 {"attempt", static_cast<std::int64_t>(b->attempts + 1)},
                 {"delay_ms", d.delay_ms},
                 {"reason", d.reason}});
    }
    settle_retry(b, t + d.delay_ms, d.reason, d.pause ? static_cast<double>(d.delay_ms) / 1000.0 : 0.0);
}

// -- settling
// -----------------------------------------------------------------------------
// Writes how batch `b` ended (`write`, on the spool thread), then runs `done`
// and frees its slot. When the write fails (disk full, I/O error) the batch
// keeps its slot and this process's lease, and the same write is tried again by
// the SettleRetrier (settle_later) until it succeeds: a held batch is never left
// waiting for some other event to wake it. A batch no longer in the spool
// (purged) just frees its slot.
void DeliveryDispatcher::Impl::settle(const std::shared_ptr<SpoolBatch>& b, const char* op, SettleWrite write,
                                      SettleDone done, std::uint32_t tries) {
    on_spool(
        [self = shared_from_this(), op, write]() -> SpoolError {
            if (self->settle_fault && self->settle_fault(op)) {
                return make_error_code(SpoolErrc::io);
            }
            return write();
        },
        [self = shared_from_this(), b, op, write, done, tries](const SpoolError& ec) {
            Queue& q = self->queue(b->write_key);
            if (!ec) {
                if (tries > 0) {
                    self->log.info(
                        "spool write succeeded again; batch settled",
                        {{"op", op}, {"batch_id", b->id}, {"tries", static_cast<std::int64_t>(tries + 1)}});
                }
                done(q);
                return self->after_settle(q, b->id);
            }
            if (ec == make_error_code(SpoolErrc::not_found)) {
                self->log.warn("batch no longer in the spool when it settled (purged)",
                               {{"op", op}, {"batch_id", b->id}});
                return self->after_settle(q, b->id);
            }
            const std::int64_t delay = self->settle_retrier.delay_ms(tries);
            self->log.log(tries == 0 ? LogLevel::error : LogLevel::debug,
                          "spool write failed while settling a batch; will write it again",
                          {{"op", op},
                           {"batch_id", b->id},
                           {"error", ec.message()},
                           {"detail", ec.detail()},
                           {"retry_ms", delay}});
            if (self->stopping) {
                return self->after_settle(q, b->id);  // stays in the spool: sent after a restart
            }
            self->settle_later(b, op, write, done, tries + 1, delay);
        });
}

void DeliveryDispatcher::Impl::settle_later(const std::shared_ptr<SpoolBatch>& b, const char* op,
                                            SettleWrite write, SettleDone done, std::uint32_t tries,
                                            std::int64_t delay_ms) {
    settle_retrier.schedule(shared_from_this(), b->id, delay_ms,
                            [self = shared_from_this(), b, op, write = std::move(write),
                             done = std::move(done), tries](bool due) {
                                self->guard("settle", [&] {
                                    if (!due || self->stopping) {
                                        self->after_settle(self->queue(b->write_key), b->id);
                                        self->check_stopped();
                                        return;
                                    }
                                    self->settle(b, op, write, done, tries);
                                });
                            });
}

void DeliveryDispatcher::Impl::settle_delivered(const std::shared_ptr<SpoolBatch>& b) {
    settle(
        b, "mark_delivered",
        [self = shared_from_this(), id = b->id] { return self->spool.mark_delivered(id); },
        [self = shared_from_this(), b](Queue& q) {
            self->metrics.on_delivered(b->events);
            ++q.state.delivered_batches;
            self->notify_settled(*b, BatchFate::delivered);
        });
}

void DeliveryDispatcher::Impl::settle_retry(const std::shared_ptr<SpoolBatch>& b, std::int64_t next_ms,
                                            const std::string& reason, double retry_after_s) {
    Queue& q = queue(b->write_key);
    ++q.state.failed_attempts;
    q.state.last_error = reason;
    settle(
        b, "reschedule",
        [self = shared_from_this(), id = b->id, next_ms, reason] {
            return self->spool.reschedule(id, next_ms, reason);
        },
        [self = shared_from_this(), next_ms, retry_after_s](Queue& qq) {
            self->metrics.on_retry(retry_after_s);
            self->hint_due(qq, next_ms);
        });
}

void DeliveryDispatcher::Impl::settle_split(const std::shared_ptr<SpoolBatch>& b, int status,
                                            const std::string& reason) {
    auto [first, second] = core::BatchEnvelope::split_half(b->body);
    if (second.empty()) {
        return settle_dead(b, status, reason,
                           "http_" + std::to_string(status));  // could not split
    }
    const std::uint32_t first_events = core::BatchEnvelope::count_events(first);
    const std::uint32_t second_events = core::BatchEnvelope::count_events(second);
    queue(b->write_key).state.last_error = reason;
    auto halves = std::make_shared<std::pair<std::string, std::string>>(std::move(first), std::move(second));
    settle(
        b, "split",
        [self = shared_from_this(), id = b->id, halves, first_events, second_events] {
            std::int64_t a = 0;
            std::int64_t c = 0;
            return self->spool.split(id, halves->first, first_events, halves->second, second_events, &a, &c);
        },
        [self = shared_from_this()](Queue& q) {
            self->metrics.on_split();
            self->hint_due(q, self->now());  // both halves are due now
        });
}

void DeliveryDispatcher::Impl::settle_dead(const std::shared_ptr<SpoolBatch>& b, int status,
                                           const std::string& reason, const std::string& metric_reason) {
    queue(b->write_key).state.last_error = reason;
    settle(
        b, "dead_letter",
        [self = shared_from_this(), id = b->id, status, reason] {
            return self->spool.dead_letter(id, status, reason);
        },
        [self = shared_from_this(), b, metric_reason](Queue& q) {
            self->metrics.on_dead_letter(metric_reason, b->events);
            ++q.state.dead_lettered_batches;
            self->notify_settled(*b, BatchFate::dead_lettered);
        });
}

void DeliveryDispatcher::Impl::notify_settled(const SpoolBatch& b, BatchFate fate) {
    if (b.request_id.empty() || !listener) {
        return;
    }
    BatchSettled s;
    s.request_id = b.request_id;
    s.batch_id = b.id;
    s.events = b.events;
    s.fate = fate;
    guard("settled listener", [&] { listener(s); });
}

void DeliveryDispatcher::Impl::after_settle(Queue& q, std::int64_t batch_id) {
    owned.erase(batch_id);
    q.state.on_settled();
    --in_flight;
    const std::string key = q.state.write_key();
    pump(key);
    refresh_status();
}

}  // namespace lsr::server
