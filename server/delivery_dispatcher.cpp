// GCC 12 reports a false "potential null pointer dereference" inside Asio's executor
// comparison (any_executor::equal_ex); the pragma must precede the includes to reach it.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wnull-dereference"
#endif

#include "server/delivery_dispatcher.hpp"

#include <algorithm>
#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/backoff_policy.hpp"
#include "core/batch_envelope.hpp"
#include "core/delivery_outcome.hpp"
#include "core/retry_after.hpp"
#include "server/delivery_metrics.hpp"
#include "server/delivery_status.hpp"
#include "server/logger.hpp"
#include "server/segment_client.hpp"
#include "server/spool.hpp"
#include "server/write_key_queue.hpp"

namespace lsr::server {

namespace asio = boost::asio;
using core::DeliveryAction;
using core::DeliveryOutcome;

namespace {

std::int64_t system_now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

struct PollResult {
    std::vector<std::pair<std::string, std::int64_t>> keys;
    std::optional<SpoolStats> stats;
};

// What a spool call stands for when it threw: a failed write for the settles, nothing
// found for the reads.
template <class R>
R spool_call_failed() {
    if constexpr (std::is_same_v<R, std::error_code>) {
        return make_error_code(SpoolErrc::io);
    } else {
        return R{};
    }
}

// A settle whose spool write failed (disk full, I/O error) is written again after this
// delay, doubling up to the cap; the batch keeps its slot (and its lease) meanwhile. The cap
// stays well below the Spool's own hold of a batch whose settle failed (30 s).
constexpr std::uint32_t kSettleRetryBaseMs = 250;
constexpr std::uint32_t kSettleRetryCapMs = 5'000;

}  // namespace

// Threading. Everything that decides runs on one strand (`strand_`): the queues, the
// counters, the timers. Segment I/O runs on the connections' own strands and hands its
// answers back here. Spool calls (SQLite commits, with fsync for the durable ones) run on
// one dedicated thread (`pool_`), never on an io thread: a settle can take milliseconds on
// a slow disk and would otherwise stall every socket served by that thread. One thread is
// enough (the Spool serialises on its own mutex anyway) and keeps the spool calls of the
// dispatcher in order.
//
// No exception leaves a handler: every strand entry point runs under guard(), spool calls
// under a try on the spool thread, and a batch whose request cannot be built or whose answer
// cannot be handled for a local reason is dead-lettered with that reason (see on_sent_guarded).
struct DeliveryDispatcher::Impl : std::enable_shared_from_this<DeliveryDispatcher::Impl> {
    struct Queue {
        Queue(std::string key, const config::WriteKeyLimits& limits, const config::RetryConfig& retry,
              std::int64_t now_ms, asio::strand<asio::io_context::executor_type>& strand)
            : state(std::move(key), limits, now_ms, retry), timer(strand) {}
        WriteKeyQueue state;
        asio::steady_timer timer;
        std::int64_t wake_at = WriteKeyQueue::kNever;
        bool hinted = false;  // batches became due while a lease was under way
    };

    Impl(asio::io_context& io_ctx, const config::SegmentConfig& segment_cfg,
         const config::SpoolConfig& spool_config, Spool& spool_ref, Logger& logger,
         prometheus::Registry& registry)
        : io(io_ctx),
          cfg(segment_cfg),
          spool_cfg(spool_config),
          spool(spool_ref),
          log(logger),
          metrics(registry),
          client(io_ctx, segment_cfg),
          backoff(segment_cfg.retry.base_delay_ms, segment_cfg.retry.max_delay_ms),
          settle_backoff(kSettleRetryBaseMs, kSettleRetryCapMs),
          strand(asio::make_strand(io_ctx)),
          poll_timer(strand),
          pool(std::make_unique<asio::thread_pool>(1)),
          now(system_now_ms) {}

    // -- spool thread -------------------------------------------------------------------
    template <class Work, class Then>
    void on_spool(Work work, Then then) {
        ++spool_ops;
        std::lock_guard lock(pool_mu);
        if (closed) {
            return;
        }
        asio::post(*pool,
                   [self = shared_from_this(), work = std::move(work), then = std::move(then)]() mutable {
                       if (self->closed) {
                           return;
                       }
                       using Result = decltype(work());
                       Result result = spool_call_failed<Result>();
                       try {
                           result = work();
                       } catch (const std::exception& e) {
                           self->log_exception("spool call", e.what());
                       } catch (...) {
                           self->log_exception("spool call", "unknown exception");
                       }
                       try {
                           asio::post(self->strand,
                                      [self, then = std::move(then), result = std::move(result)]() mutable {
                                          --self->spool_ops;
                                          self->guard("spool answer", [&] { then(std::move(result)); });
                                          self->guard("stop", [&] { self->check_stopped(); });
                                      });
                       } catch (...) {
                           self->log_exception("spool answer", "could not be handed back");
                       }
                   });
    }

    // Runs one strand handler; an exception is logged and goes no further.
    template <class F>
    void guard(const char* where, F&& f) noexcept {
        try {
            f();
        } catch (const std::exception& e) {
            log_exception(where, e.what());
        } catch (...) {
            log_exception(where, "unknown exception");
        }
    }

    void log_exception(const char* where, const char* what) noexcept {
        try {
            log.error("unexpected exception in delivery; carrying on", {{"where", where}, {"error", what}});
        } catch (...) {  // NOLINT(bugprone-empty-catch): nothing left to report with
        }
    }

    void close() {
        {
            std::lock_guard lock(pool_mu);
            closed = true;
        }
        pool->stop();
        pool->join();
        client.shutdown();
    }

    // -- polling --------------------------------------------------------------------------
    void do_poll(bool with_stats) {
        if (stopping || closed) {
            return;
        }
        if (polling) {
            poll_again = true;
            return;
        }
        polling = true;
        on_spool(
            [self = shared_from_this(), with_stats] {
                PollResult r;
                r.keys = self->spool.write_keys();
                if (with_stats) {
                    r.stats = self->spool.stats();
                }
                return r;
            },
            [self = shared_from_this()](PollResult r) { self->on_poll(std::move(r)); });
    }

    void on_poll(PollResult r) {
        polling = false;
        const std::int64_t t = now();
        if (r.stats) {
            metrics.on_spool_stats(*r.stats, t);
            last_stats = *r.stats;
        }
        if (stopping) {
            return;
        }
        std::map<std::string, std::int64_t> present(r.keys.begin(), r.keys.end());
        for (auto it = queues.begin(); it != queues.end();) {
            Queue& q = *it->second;
            if (!present.contains(it->first) && q.state.in_flight() == 0 && !q.state.leasing &&
                !q.state.paused(t)) {
                it = queues.erase(it);  // nothing left for this key
            } else {
                ++it;
            }
        }
        for (const auto& [key, earliest] : present) {
            queue(key).state.set_next_due(earliest);
        }
        std::vector<std::string> keys;
        keys.reserve(queues.size());
        for (const auto& [key, q] : queues) {
            keys.push_back(key);
        }
        for (const auto& key : keys) {
            pump(key);
        }
        refresh_status();
        if (poll_again) {
            poll_again = false;
            do_poll(false);
        }
        arm_poll_timer();
    }

    void arm_poll_timer() {
        if (poll_timer_armed || stopping) {
            return;
        }
        poll_timer_armed = true;
        poll_timer.expires_after(
            std::chrono::milliseconds(std::max<std::uint32_t>(spool_cfg.poll_interval_ms, 10)));
        poll_timer.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
            self->poll_timer_armed = false;
            if (!ec) {
                self->guard("poll", [&] { self->do_poll(true); });
            }
        });
    }

    Queue& queue(const std::string& key) {
        auto it = queues.find(key);
        if (it == queues.end()) {
            it =
                queues.emplace(key, std::make_unique<Queue>(key, cfg.per_write_key, cfg.retry, now(), strand))
                    .first;
        }
        return *it->second;
    }

    Queue* find(const std::string& key) {
        auto it = queues.find(key);
        return it == queues.end() ? nullptr : it->second.get();
    }

    // Wake the key's pump at `at_ms` (wall), unless an earlier wake-up is already set.
    void arm(Queue& q, std::int64_t at_ms) {
        if (q.wake_at <= at_ms) {
            return;
        }
        q.wake_at = at_ms;
        q.timer.expires_after(std::chrono::milliseconds(std::max<std::int64_t>(0, at_ms - now())));
        q.timer.async_wait(
            [self = shared_from_this(), key = q.state.write_key()](const boost::system::error_code& ec) {
                if (ec) {
                    return;  // re-armed earlier, or stopping
                }
                self->guard("pump", [&] {
                    if (Queue* qq = self->find(key)) {
                        qq->wake_at = WriteKeyQueue::kNever;
                    }
                    self->pump(key);
                });
            });
    }

    // -- leasing and sending --------------------------------------------------------------
    void pump(const std::string& key) {
        Queue* qp = find(key);
        if (qp == nullptr || stopping || closed || qp->state.leasing) {
            return;
        }
        Queue& q = *qp;
        const std::int64_t t = now();
        if (q.state.paused(t)) {
            return arm(q, q.state.paused_until_ms());
        }
        // Healthy: when the earliest batch is due. Failing: one probe at the key's probe time,
        // whatever batch it takes. Recovering: every waiting batch now (core::KeyHealth).
        const std::int64_t due = q.state.due_at(t);
        if (due > t) {
            if (due != WriteKeyQueue::kNever) {
                arm(q, due);
            }
            return;
        }
        bool tokens_limited = false;
        const std::size_t cap = q.state.capacity(t, &tokens_limited);
        if (cap == 0) {
            if (tokens_limited) {
                arm(q, q.state.next_token_ms(t));
            }
            return;  // otherwise all slots are busy: a settle pumps again
        }
        q.state.take(t, cap);
        q.state.leasing = true;
        const std::int64_t horizon = q.state.lease_horizon(t);
        on_spool([self = shared_from_this(), key, horizon,
                  cap] { return self->spool.lease_due(key, horizon, cap); },
                 [self = shared_from_this(), key, cap](std::vector<SpoolBatch> batches) {
                     self->on_leased(key, cap, std::move(batches));
                 });
    }

    void on_leased(const std::string& key, std::size_t asked, std::vector<SpoolBatch> batches) {
        Queue& q = queue(key);
        q.state.leasing = false;
        if (batches.size() < asked) {
            q.state.refund(asked - batches.size());
            // None due as of the lease's read. Unless batches were announced meanwhile (their
            // commit may postdate that read), wait for polls and settles to tell more.
            if (!q.hinted) {
                q.state.set_next_due(WriteKeyQueue::kNever);
            }
            q.state.end_recovery();  // every waiting batch has been taken
        }
        q.hinted = false;
        for (auto& b : batches) {
            if (owned.contains(b.id)) {
                // Already ours (in flight, or its settle being written again): the spool let
                // its hold go. Never sent twice by this process.
                q.state.refund(1);
                continue;
            }
            send(q, std::make_shared<SpoolBatch>(std::move(b)));
        }
        pump(key);  // more may be due, with slots and tokens left
        refresh_status();
    }

    // Something became due at `ms` (a notify, a split, a reschedule).
    void hint_due(Queue& q, std::int64_t ms) {
        q.state.lower_next_due(ms);
        if (q.state.leasing) {
            q.hinted = true;
        }
    }

    void send(Queue& q, std::shared_ptr<SpoolBatch> batch) {
        q.state.on_send();
        ++in_flight;
        owned.insert(batch->id);
        const std::uint64_t epoch = q.state.send_epoch();
        try {
            SegmentSend request{batch->write_key, batch->body, batch->attempts};
            client.send(std::move(request), [self = shared_from_this(), batch, epoch](SegmentResponse r) {
                asio::post(self->strand, [self, batch, epoch, r = std::move(r)]() mutable {
                    self->on_sent_guarded(batch, epoch, std::move(r));
                });
            });
        } catch (const std::exception& e) {
            SegmentResponse r;
            r.local = true;
            r.error = std::string("the request could not be started: ") + e.what();
            asio::post(strand, [self = shared_from_this(), batch, epoch, r = std::move(r)]() mutable {
                self->on_sent_guarded(batch, epoch, std::move(r));
            });
        }
    }

    // An answer, or a local failure, for one batch. Whatever goes wrong while handling it
    // (an exception from splitting, say) dead-letters the batch with the reason.
    void on_sent_guarded(const std::shared_ptr<SpoolBatch>& b, std::uint64_t epoch,
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

    void on_sent(const std::shared_ptr<SpoolBatch>& b, std::uint64_t epoch, SegmentResponse r) {
        const std::int64_t t = now();
        if (r.local) {
            // Nothing went out (or its answer could not be read): sending it again would fail
            // the same way, and must not hold up the key's other batches.
            const std::string why = "local: " + r.error;
            log.error("a batch could not be sent for a local reason; dead-lettered",
                      {{"key", WriteKeyQueue::short_key(b->write_key)},
                       {"batch_id", b->id},
                       {"events", static_cast<std::int64_t>(b->events)},
                       {"reason", why}});
            return settle_dead(b, 0, why, "local");
        }
        const int status = r.ec ? 0 : r.status;
        const DeliveryAction action = DeliveryOutcome::classify(status, b->events);
        metrics.on_answer(status, b->events, static_cast<double>(r.duration.count()) / 1e6, t);
        const std::string detail = r.ec ? r.error : r.body_excerpt.substr(0, 160);
        const std::string reason = DeliveryOutcome::reason(status, detail);
        const std::string short_key = WriteKeyQueue::short_key(b->write_key);
        Queue& kq = queue(b->write_key);
        if (status == 0 || status == 429 || status >= 500) {
            kq.state.on_congestion();
        } else if (action == DeliveryAction::done) {
            kq.state.on_success();
        }
        if (action == DeliveryAction::retry) {
            kq.state.on_failed_request(t, epoch, backoff.draw());
        } else if (action == DeliveryAction::done) {
            const bool was_failing = kq.state.health().failing();
            if (kq.state.on_successful_request(epoch)) {
                if (was_failing) {
                    log.info("segment answers the write key again; its waiting batches are due now",
                             {{"key", short_key}});
                }
                hint_due(kq, t);
            }
        }
        switch (action) {
            case DeliveryAction::done:
                return settle_delivered(b);
            case DeliveryAction::split:
                return settle_split(b, status, reason);
            case DeliveryAction::dead_letter:
                log.warn("segment rejected a batch; dead-lettered",
                         {{"key", short_key},
                          {"batch_id", b->id},
                          {"status", static_cast<std::int64_t>(status)},
                          {"events", static_cast<std::int64_t>(b->events)},
                          {"reason", reason}});
                return settle_dead(b, status, reason, "http_" + std::to_string(status));
            case DeliveryAction::retry:
                break;
        }
        const std::int64_t age_ms = t - b->created_ms;
        if (age_ms > static_cast<std::int64_t>(cfg.retry.give_up_after_s) * 1000) {
            const std::string why = "gave up after " + std::to_string(age_ms / 1000) + " s and " +
                                    std::to_string(b->attempts + 1) + " attempts: " + reason;
            log.warn("segment batch too old to retry; dead-lettered",
                     {{"key", short_key},
                      {"batch_id", b->id},
                      {"events", static_cast<std::int64_t>(b->events)},
                      {"reason", why}});
            return settle_dead(b, status, why, "gave_up");
        }
        std::optional<std::int64_t> wait;
        if (status != 0) {
            // Retry-After is honoured on any retryable answer (an explicit instruction);
            // X-RateLimit-Reset only on a 429, where Segment documents it: on other answers it
            // may be informational and must not pause a key.
            const std::string_view reset =
                status == 429 ? std::string_view(r.rate_limit_reset) : std::string_view();
            wait = core::RetryAfter::delay_ms(r.retry_after, reset, t, cfg.retry.retry_after_cap_ms);
        }
        Queue& q = queue(b->write_key);
        std::int64_t delay = 0;
        if (wait) {
            delay = *wait;
            if (!q.state.paused(t + delay - 1)) {
                log.warn(
                    "segment asked to wait; pausing the write key",
                    {{"key", short_key}, {"status", static_cast<std::int64_t>(status)}, {"wait_ms", delay}});
            }
            q.state.pause_until(t + delay);
        } else {
            delay = backoff.next_delay_ms(b->attempts);
        }
        if (b->attempts == 0 || log.enabled(LogLevel::debug)) {
            log.log(b->attempts == 0 ? LogLevel::info : LogLevel::debug, "segment batch failed; will retry",
                    {{"key", short_key},
                     {"batch_id", b->id},
                     {"attempt", static_cast<std::int64_t>(b->attempts + 1)},
                     {"delay_ms", delay},
                     {"reason", reason}});
        }
        settle_retry(b, t + delay, reason, wait ? static_cast<double>(*wait) / 1000.0 : 0.0);
    }

    // -- settling ---------------------------------------------------------------------------
    using SettleWrite = std::function<std::error_code()>;
    using SettleDone = std::function<void(Queue&)>;

    // Writes how batch `b` ended (`write`, on the spool thread), then runs `done` and frees
    // its slot. When the write fails (disk full, I/O error) the batch keeps its slot and this
    // process's lease, and the same write is tried again by a timer of the dispatcher
    // (settle_later) until it succeeds: a held batch is never left waiting for some other
    // event to wake it. A batch no longer in the spool (purged) just frees its slot.
    void settle(const std::shared_ptr<SpoolBatch>& b, const char* op, SettleWrite write, SettleDone done,
                std::uint32_t tries = 0) {
        on_spool(
            [self = shared_from_this(), op, write] {
                if (self->settle_fault && self->settle_fault(op)) {
                    return make_error_code(SpoolErrc::io);
                }
                return write();
            },
            [self = shared_from_this(), b, op, write, done, tries](std::error_code ec) {
                Queue& q = self->queue(b->write_key);
                if (!ec) {
                    if (tries > 0) {
                        self->log.info("spool write succeeded again; batch settled",
                                       {{"op", op},
                                        {"batch_id", b->id},
                                        {"tries", static_cast<std::int64_t>(tries + 1)}});
                    }
                    done(q);
                    return self->after_settle(q, b->id);
                }
                if (ec == make_error_code(SpoolErrc::not_found)) {
                    self->log.warn("batch no longer in the spool when it settled (purged)",
                                   {{"op", op}, {"batch_id", b->id}});
                    return self->after_settle(q, b->id);
                }
                const std::int64_t delay = self->settle_backoff.ceiling_ms(tries);
                self->log.log(
                    tries == 0 ? LogLevel::error : LogLevel::debug,
                    "spool write failed while settling a batch; will write it again",
                    {{"op", op}, {"batch_id", b->id}, {"error", ec.message()}, {"retry_ms", delay}});
                if (self->stopping) {
                    return self->after_settle(q, b->id);  // stays in the spool: sent after a restart
                }
                self->settle_later(b, op, write, done, tries + 1, delay);
            });
    }

    void settle_later(const std::shared_ptr<SpoolBatch>& b, const char* op, SettleWrite write,
                      SettleDone done, std::uint32_t tries, std::int64_t delay_ms) {
        auto timer = std::make_shared<asio::steady_timer>(strand);
        settle_timers[b->id] = timer;
        timer->expires_after(std::chrono::milliseconds(delay_ms));
        timer->async_wait([self = shared_from_this(), b, op, write = std::move(write), done = std::move(done),
                           tries, timer](const boost::system::error_code& ec) {
            self->guard("settle", [&] {
                self->settle_timers.erase(b->id);
                if (ec || self->stopping) {
                    self->after_settle(self->queue(b->write_key), b->id);
                    self->check_stopped();
                    return;
                }
                self->settle(b, op, write, done, tries);
            });
        });
    }

    void settle_delivered(const std::shared_ptr<SpoolBatch>& b) {
        settle(
            b, "mark_delivered",
            [self = shared_from_this(), id = b->id] { return self->spool.mark_delivered(id); },
            [self = shared_from_this(), b](Queue& q) {
                self->metrics.on_delivered(b->events);
                ++q.state.delivered_batches;
                self->notify_settled(*b, BatchFate::delivered);
            });
    }

    void settle_retry(const std::shared_ptr<SpoolBatch>& b, std::int64_t next_ms, const std::string& reason,
                      double retry_after_s) {
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

    void settle_split(const std::shared_ptr<SpoolBatch>& b, int status, const std::string& reason) {
        auto [first, second] = core::BatchEnvelope::split_half(b->body);
        if (second.empty()) {
            return settle_dead(b, status, reason, "http_" + std::to_string(status));  // could not split
        }
        const std::uint32_t first_events = core::BatchEnvelope::count_events(first);
        const std::uint32_t second_events = core::BatchEnvelope::count_events(second);
        queue(b->write_key).state.last_error = reason;
        auto halves =
            std::make_shared<std::pair<std::string, std::string>>(std::move(first), std::move(second));
        settle(
            b, "split",
            [self = shared_from_this(), id = b->id, halves, first_events, second_events] {
                std::int64_t a = 0;
                std::int64_t c = 0;
                return self->spool.split(id, halves->first, first_events, halves->second, second_events, &a,
                                         &c);
            },
            [self = shared_from_this()](Queue& q) {
                self->metrics.on_split();
                self->hint_due(q, self->now());  // both halves are due now
            });
    }

    void settle_dead(const std::shared_ptr<SpoolBatch>& b, int status, const std::string& reason,
                     const std::string& metric_reason) {
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

    void notify_settled(const SpoolBatch& b, BatchFate fate) {
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

    void after_settle(Queue& q, std::int64_t batch_id) {
        owned.erase(batch_id);
        q.state.on_settled();
        --in_flight;
        const std::string key = q.state.write_key();
        pump(key);
        refresh_status();
    }

    // -- stop -------------------------------------------------------------------------------
    void check_stopped() {
        if (!stopping || in_flight != 0 || spool_ops != 0 || !stop_done) {
            return;
        }
        auto done = std::exchange(stop_done, nullptr);
        client.shutdown();
        log.info("delivery stopped", {});
        refresh_status();
        asio::post(io, std::move(done));
    }

    // -- status -----------------------------------------------------------------------------
    void refresh_status() {
        std::vector<const WriteKeyQueue*> keys;
        keys.reserve(queues.size());
        for (const auto& [key, q] : queues) {
            keys.push_back(&q->state);
        }
        const std::string endpoint = client.endpoint().url();
        DeliveryStatus::Overview o;
        o.stopping = stopping;
        o.in_flight = in_flight;
        o.endpoint = endpoint;
        o.spool = &last_stats;
        o.now_ms = now();
        status_doc.publish(o, keys);
    }

    asio::io_context& io;
    config::SegmentConfig cfg;
    config::SpoolConfig spool_cfg;
    Spool& spool;
    Logger& log;
    DeliveryMetrics metrics;
    SegmentClient client;
    core::BackoffPolicy backoff;
    core::BackoffPolicy settle_backoff;
    std::function<bool(std::string_view)> settle_fault;  // tests only
    std::map<std::int64_t, std::shared_ptr<asio::steady_timer>> settle_timers;
    std::set<std::int64_t> owned;  // batches in flight or being settled by this process
    asio::strand<asio::io_context::executor_type> strand;
    asio::steady_timer poll_timer;
    bool poll_timer_armed = false;

    std::mutex pool_mu;
    std::unique_ptr<asio::thread_pool> pool;
    std::atomic<bool> closed{false};

    std::function<std::int64_t()> now;
    std::map<std::string, std::unique_ptr<Queue>> queues;
    bool stopping = false;
    bool polling = false;
    bool poll_again = false;
    std::size_t spool_ops = 0;
    std::uint32_t in_flight = 0;
    std::function<void()> stop_done;
    std::function<void(const BatchSettled&)> listener;
    SpoolStats last_stats;

    DeliveryStatus status_doc;
};

DeliveryDispatcher::DeliveryDispatcher(asio::io_context& io, const config::SegmentConfig& cfg,
                                       const config::SpoolConfig& spool_cfg, Spool& spool, Logger& log,
                                       prometheus::Registry& registry)
    : impl_(std::make_shared<Impl>(io, cfg, spool_cfg, spool, log, registry)) {}

DeliveryDispatcher::~DeliveryDispatcher() {
    impl_->close();
}

void DeliveryDispatcher::start() {
    asio::dispatch(impl_->strand, [self = impl_] {
        self->guard("start", [&] {
            self->log.info("delivery started",
                           {{"endpoint", self->client.endpoint().url()},
                            {"region", self->cfg.region},
                            {"max_connections", static_cast<std::int64_t>(self->cfg.max_connections)}});
            self->do_poll(true);
        });
    });
}

void DeliveryDispatcher::notify(std::string_view write_key) {
    asio::post(impl_->strand, [self = impl_, key = std::string(write_key)] {
        self->guard("notify", [&] {
            if (self->stopping) {
                return;
            }
            Impl::Queue& q = self->queue(key);
            self->hint_due(q, self->now());
            self->pump(key);
        });
    });
}

void DeliveryDispatcher::stop(std::function<void()> done) {
    asio::dispatch(impl_->strand, [self = impl_, done = std::move(done)]() mutable {
        self->guard("stop", [&] {
            self->stopping = true;
            self->stop_done = std::move(done);
            self->poll_timer.cancel();
            for (auto& [key, q] : self->queues) {
                q->timer.cancel();
            }
            for (auto& [id, timer] : self->settle_timers) {
                timer->cancel();  // their batches stay in the spool: sent again after a restart
            }
            self->log.info("delivery stopping", {{"in_flight", static_cast<std::int64_t>(self->in_flight)}});
            self->refresh_status();
            self->check_stopped();
        });
    });
}

void DeliveryDispatcher::set_settled_listener(std::function<void(const BatchSettled&)> listener) {
    asio::dispatch(impl_->strand,
                   [self = impl_, l = std::move(listener)]() mutable { self->listener = std::move(l); });
}

std::string DeliveryDispatcher::status_json() {
    return impl_->status_doc.json();
}

void DeliveryDispatcher::set_clock_for_testing(std::function<std::int64_t()> wall_ms) {
    impl_->now = std::move(wall_ms);
    impl_->client.set_wall_clock(impl_->now);
}

void DeliveryDispatcher::set_settle_fault_for_testing(std::function<bool(std::string_view op)> fail) {
    impl_->settle_fault = std::move(fail);
}

void DeliveryDispatcher::set_jitter_for_testing(std::function<double()> uniform) {
    impl_->backoff = core::BackoffPolicy(impl_->cfg.retry.base_delay_ms, impl_->cfg.retry.max_delay_ms,
                                         std::move(uniform));
}

}  // namespace lsr::server
