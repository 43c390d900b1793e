// GCC 12 reports a false "potential null pointer dereference" inside Asio's executor
// comparison (any_executor::equal_ex); the pragma must precede the includes to reach it.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wnull-dereference"
#endif

#include <chrono>
#include <exception>
#include <string>
#include <utility>

#include "core/delivery/settle_decision.hpp"
#include "core/delivery/write_key_queue.hpp"
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
        log.error(
            "a batch could not be handled; dead-lettered",
            {{"key", core::WriteKeyQueue::short_key(b->write_key)}, {"batch_id", b->id}, {"error", why}});
        auto d = std::make_shared<const SettleDecision>(SettleDecision::local(why));
        queue(b->write_key).state.on_answer(*d, clock.unix_ms(), 0);
        carry_out(b, std::move(d));
    });
}

void DeliveryDispatcher::Impl::on_sent(const std::shared_ptr<SpoolBatch>& b, std::uint64_t epoch,
                                       SegmentResponse r) {
    const std::int64_t t = clock.unix_ms();
    SettleDecision::Answer answer;
    answer.local = r.local;
    answer.answered = !r.ec;
    answer.status = r.status;
    answer.error = r.error;
    answer.body_excerpt = r.body_excerpt;
    answer.retry_after = r.retry_after;
    answer.rate_limit_reset = r.rate_limit_reset;
    auto d = std::make_shared<const SettleDecision>(
        SettleDecision::decide(answer, SettleDecision::Batch{b->events, b->attempts, b->created_ms, b->body},
                               cfg.retry, t, backoff));
    if (d->kind != SettleDecision::Kind::local_failure) {
        metrics.on_answer(d->status, b->events, static_cast<double>(r.duration.count()) / 1e6, t);
    }
    Queue& q = queue(b->write_key);
    const core::WriteKeyQueue::AnswerEffect effect = q.state.on_answer(*d, t, epoch);
    const std::string short_key = core::WriteKeyQueue::short_key(b->write_key);
    if (effect.recovered) {
        log.info(core::WriteKeyQueue::kRecoveredMessage, {{"key", short_key}});
    }
    if (effect.pause_began) {
        log.warn(
            core::WriteKeyQueue::kPausedMessage,
            {{"key", short_key}, {"status", static_cast<std::int64_t>(d->status)}, {"wait_ms", d->delay_ms}});
    }
    log_decision(*b, *d);
    carry_out(b, std::move(d));
}

// The decision's log line (core::SettleDecision names it), with the batch's fields.
void DeliveryDispatcher::Impl::log_decision(const SpoolBatch& b, const SettleDecision& d) {
    LogLevel level = LogLevel::debug;
    switch (d.log_severity) {
        case SettleDecision::Severity::none:
            return;
        case SettleDecision::Severity::debug:
            level = LogLevel::debug;
            break;
        case SettleDecision::Severity::info:
            level = LogLevel::info;
            break;
        case SettleDecision::Severity::warn:
            level = LogLevel::warn;
            break;
        case SettleDecision::Severity::error:
            level = LogLevel::error;
            break;
    }
    if (!log.enabled(level)) {
        return;
    }
    const std::string short_key = core::WriteKeyQueue::short_key(b.write_key);
    const auto events = static_cast<std::int64_t>(b.events);
    switch (d.kind) {
        case SettleDecision::Kind::retry:
            return log.log(level, d.log_message,
                           {{"key", short_key},
                            {"batch_id", b.id},
                            {"attempt", static_cast<std::int64_t>(b.attempts + 1)},
                            {"delay_ms", d.delay_ms},
                            {"reason", d.reason}});
        case SettleDecision::Kind::reject:
            return log.log(level, d.log_message,
                           {{"key", short_key},
                            {"batch_id", b.id},
                            {"status", static_cast<std::int64_t>(d.status)},
                            {"events", events},
                            {"reason", d.reason}});
        default:
            return log.log(
                level, d.log_message,
                {{"key", short_key}, {"batch_id", b.id}, {"events", events}, {"reason", d.reason}});
    }
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
            self->settled(b, op, write, done, tries, ec);
        });
}

// How the settle write of batch `b` went (`ec`): its follow-up on success, nothing more when
// it was purged meanwhile, or the same write again later.
void DeliveryDispatcher::Impl::settled(const std::shared_ptr<SpoolBatch>& b, const char* op,
                                       const SettleWrite& write, const SettleDone& done, std::uint32_t tries,
                                       const SpoolError& ec) {
    Queue& q = queue(b->write_key);
    if (!ec) {
        if (tries > 0) {
            log.info("spool write succeeded again; batch settled",
                     {{"op", op}, {"batch_id", b->id}, {"tries", static_cast<std::int64_t>(tries + 1)}});
        }
        done(q);
        return after_settle(q, b->id);
    }
    if (ec == make_error_code(SpoolErrc::not_found)) {
        log.warn("batch no longer in the spool when it settled (purged)", {{"op", op}, {"batch_id", b->id}});
        return after_settle(q, b->id);
    }
    const std::int64_t delay = settle_retrier.delay_ms(tries);
    log.log(tries == 0 ? LogLevel::error : LogLevel::debug,
            "spool write failed while settling a batch; will write it again",
            {{"op", op},
             {"batch_id", b->id},
             {"error", ec.message()},
             {"detail", ec.detail()},
             {"retry_ms", delay}});
    if (stopping) {
        return after_settle(q, b->id);  // stays in the spool: sent after a restart
    }
    settle_later(b, op, write, done, tries + 1, delay);
}

// Delivered batches are written in groups: while one group's transaction runs on the spool
// thread, the batches that come back meanwhile wait here and go in the next one. A batch of
// a group that fails is written again on its own (settle_later), as any failed settle.
void DeliveryDispatcher::Impl::settle_delivered(const std::shared_ptr<SpoolBatch>& b, SettleDone done) {
    delivered_waiting.push_back(DeliveredSettle{b, std::move(done)});
    if (released_early.size() < kDeliveredGroupMax && released_early.insert(b->id).second) {
        Queue& q = queue(b->write_key);
        q.state.on_settled();
        --in_flight;
        pump(b->write_key);
    }
    if (delivered_writing) return;
    if (stopping || delivered_waiting.size() >= kDeliveredGroupMax) {
        delivered_timer.cancel();
        return write_delivered();
    }
    arm_delivered_write();
}

void DeliveryDispatcher::Impl::arm_delivered_write() {
    if (delivered_timer_armed) return;
    delivered_timer_armed = true;
    delivered_timer.expires_after(std::chrono::milliseconds(kDeliveredGroupWaitMs));
    delivered_timer.async_wait([self = shared_from_this()](const boost::system::error_code&) {
        self->delivered_timer_armed = false;
        self->guard("settle", [&] {
            if (!self->delivered_writing && !self->delivered_waiting.empty()) self->write_delivered();
        });
    });
}

void DeliveryDispatcher::Impl::write_delivered() {
    auto group = std::make_shared<std::vector<DeliveredSettle>>();
    const std::size_t n = std::min(delivered_waiting.size(), kDeliveredGroupMax);
    group->assign(std::make_move_iterator(delivered_waiting.begin()),
                  std::make_move_iterator(delivered_waiting.begin() + static_cast<std::ptrdiff_t>(n)));
    delivered_waiting.erase(delivered_waiting.begin(),
                            delivered_waiting.begin() + static_cast<std::ptrdiff_t>(n));
    if (group->empty()) return;
    delivered_writing = true;
    std::vector<std::int64_t> ids;
    ids.reserve(group->size());
    for (const auto& g : *group) ids.push_back(g.batch->id);
    auto found = std::make_shared<std::vector<bool>>();
    on_spool(
        [self = shared_from_this(), ids = std::move(ids), found]() -> SpoolError {
            if (self->settle_fault && self->settle_fault("mark_delivered")) {
                return make_error_code(SpoolErrc::io);
            }
            return self->spool.mark_delivered(ids, found.get());
        },
        [self = shared_from_this(), group, found](const SpoolError& ec) {
            self->delivered_writing = false;
            for (std::size_t i = 0; i < group->size(); ++i) {
                const auto& g = (*group)[i];
                const std::int64_t id = g.batch->id;
                SettleWrite one = [self, id] { return self->spool.mark_delivered(id); };
                SpoolError result = ec;
                if (!ec && !(i < found->size() && (*found)[i]))
                    result = make_error_code(SpoolErrc::not_found);
                self->guard("settle",
                            [&] { self->settled(g.batch, "mark_delivered", one, g.done, 0, result); });
            }
            if (self->delivered_waiting.empty()) return;
            if (self->stopping || self->delivered_waiting.size() >= kDeliveredGroupMax)
                return self->write_delivered();
            self->arm_delivered_write();
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

void DeliveryDispatcher::Impl::carry_out(const std::shared_ptr<SpoolBatch>& b, Decision d) {
    const auto id = b->id;
    switch (d->kind) {
        case SettleDecision::Kind::deliver:
            return settle_delivered(b, [self = shared_from_this(), b, d](Queue& q) {
                self->metrics.on_delivered(b->events);
                q.state.record(*d);
                self->notify_settled(*b, BatchFate::delivered);
            });
        case SettleDecision::Kind::retry:
            return settle(
                b, "reschedule",
                [self = shared_from_this(), id, d] {
                    return self->spool.reschedule(id, d->next_attempt_ms, d->reason);
                },
                [self = shared_from_this(), d](Queue& q) {
                    self->metrics.on_retry(d->retry_after_s);
                    q.state.hint_due(d->next_attempt_ms);
                });
        case SettleDecision::Kind::split:
            return settle(
                b, "split",
                [self = shared_from_this(), id, d] {
                    std::int64_t first_id = 0;
                    std::int64_t second_id = 0;
                    const auto& h = d->halves;
                    return self->spool.split(id, h.first, h.first_events, h.second, h.second_events,
                                             &first_id, &second_id);
                },
                [self = shared_from_this()](Queue& q) {
                    self->metrics.on_split();
                    q.state.hint_due(self->clock.unix_ms());  // both halves are due now
                });
        case SettleDecision::Kind::reject:
        case SettleDecision::Kind::give_up:
        case SettleDecision::Kind::local_failure:
            return settle(
                b, "dead_letter",
                [self = shared_from_this(), id, d] {
                    return self->spool.dead_letter(id, d->status, d->reason);
                },
                [self = shared_from_this(), b, d](Queue& q) {
                    self->metrics.on_dead_letter(d->metric_reason, b->events);
                    q.state.record(*d);
                    self->notify_settled(*b, BatchFate::dead_lettered);
                });
    }
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
    if (released_early.erase(batch_id) == 0) {  // its slot is still taken: give it back
        q.state.on_settled();
        --in_flight;
        const std::string key = q.state.write_key();
        pump(key);
    }
    refresh_status();
}

}  // namespace lsr::server
