// GCC 12 reports a false "potential null pointer dereference" inside Asio's executor
// comparison (any_executor::equal_ex); the pragma must precede the includes to reach it.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wnull-dereference"
#endif

#include <algorithm>
#include <boost/asio/post.hpp>
#include <chrono>
#include <exception>

#include "server/delivery/delivery_dispatcher_impl.hpp"

namespace lsr::server {

namespace asio = boost::asio;

// -- polling ------------------------------------------------------------------------------
void DeliveryDispatcher::Impl::do_poll(bool with_stats) {
    if (stopping || worker.closed()) {
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

void DeliveryDispatcher::Impl::on_poll(PollResult r) {
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

void DeliveryDispatcher::Impl::arm_poll_timer() {
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

DeliveryDispatcher::Impl::Queue& DeliveryDispatcher::Impl::queue(const std::string& key) {
    auto it = queues.find(key);
    if (it == queues.end()) {
        it = queues.emplace(key, std::make_unique<Queue>(key, cfg.per_write_key, cfg.retry, now(), strand))
                 .first;
    }
    return *it->second;
}

DeliveryDispatcher::Impl::Queue* DeliveryDispatcher::Impl::find(const std::string& key) {
    auto it = queues.find(key);
    return it == queues.end() ? nullptr : it->second.get();
}

void DeliveryDispatcher::Impl::arm(Queue& q, std::int64_t at_ms) {
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

// -- leasing and sending ----------------------------------------------------------------
void DeliveryDispatcher::Impl::pump(const std::string& key) {
    Queue* qp = find(key);
    if (qp == nullptr || stopping || worker.closed() || qp->state.leasing) {
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
    on_spool(
        [self = shared_from_this(), key, horizon, cap] { return self->spool.lease_due(key, horizon, cap); },
        [self = shared_from_this(), key, cap](std::vector<SpoolBatch> batches) {
            self->on_leased(key, cap, std::move(batches));
        });
}

void DeliveryDispatcher::Impl::on_leased(const std::string& key, std::size_t asked,
                                         std::vector<SpoolBatch> batches) {
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

void DeliveryDispatcher::Impl::hint_due(Queue& q, std::int64_t ms) {
    q.state.lower_next_due(ms);
    if (q.state.leasing) {
        q.hinted = true;
    }
}

void DeliveryDispatcher::Impl::send(Queue& q, std::shared_ptr<SpoolBatch> batch) {
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

}  // namespace lsr::server
