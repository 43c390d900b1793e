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
                r.oldest_by_key = self->spool.oldest_by_write_key();  // nullopt: the read failed
                r.sync = SyncStore(self->spool).totals();
            }
            return r;
        },
        [self = shared_from_this()](PollResult r) { self->on_poll(std::move(r)); });
}

void DeliveryDispatcher::Impl::on_poll(PollResult r) {
    polling = false;
    const std::int64_t t = clock.unix_ms();
    if (r.stats) {
        metrics.on_spool_stats(*r.stats, t);
        last_stats = *r.stats;
    }
    if (r.oldest_by_key) {
        metrics.on_write_key_ages(*r.oldest_by_key, t);
    }
    if (r.sync) {
        metrics.on_sync_totals(*r.sync);
    }
    if (stopping) {
        return;
    }
    std::map<std::string, std::int64_t> present(r.keys.begin(), r.keys.end());
    for (auto it = queues.begin(); it != queues.end();) {
        if (it->second->state.idle(t, present.contains(it->first))) {
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
        it = queues
                 .emplace(key,
                          std::make_unique<Queue>(key, cfg.per_write_key, cfg.retry, clock.unix_ms(), strand))
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
    q.timer.expires_after(std::chrono::milliseconds(std::max<std::int64_t>(0, at_ms - clock.unix_ms())));
    q.timer.async_wait(
        [self = shared_from_this(), key = q.state.write_key()](const boost::system::error_code& ec) {
            if (ec) {
                return;  // re-armed earlier, or stopping
            }
            self->guard("pump", [&] {
                if (Queue* qq = self->find(key)) {
                    qq->wake_at = core::WriteKeyQueue::kNever;
                }
                self->pump(key);
            });
        });
}

// -- leasing and sending ----------------------------------------------------------------
void DeliveryDispatcher::Impl::pump(const std::string& key) {
    Queue* q = find(key);
    if (q == nullptr || stopping || worker.closed()) {
        return;
    }
    using Step = core::WriteKeyQueue::Step;
    const Step step = q->state.next_step(clock.unix_ms());
    switch (step.kind) {
        case Step::Kind::wait_for_news:
            return;
        case Step::Kind::wait_until:
            return arm(*q, step.at_ms);
        case Step::Kind::lease:
            break;
    }
    on_spool([self = shared_from_this(), key, horizon = step.horizon_ms,
              cap = step.count] { return self->spool.lease_due(key, horizon, cap); },
             [self = shared_from_this(), key, cap = step.count](std::vector<SpoolBatch> batches) {
                 self->on_leased(key, cap, std::move(batches));
             });
}

void DeliveryDispatcher::Impl::on_leased(const std::string& key, std::size_t asked,
                                         std::vector<SpoolBatch> batches) {
    Queue& q = queue(key);
    q.state.end_lease(asked, batches.size());
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

void DeliveryDispatcher::Impl::send(Queue& q, std::shared_ptr<SpoolBatch> batch) {
    q.state.on_send();
    ++in_flight;
    owned.insert(batch->id);
    const std::uint64_t epoch = q.state.send_epoch();
    try {
        // The body is shared with the leased batch (aliasing pointer): not copied per attempt.
        SegmentSend request{batch->write_key, std::shared_ptr<const std::string>(batch, &batch->body),
                            batch->attempts};
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
