#include "core/delivery/write_key_queue.hpp"

#include <catch2/catch.hpp>

using lsr::core::WriteKeyQueue;

namespace {
lsr::core::WriteKeyLimits limits(double rps, double burst, std::uint32_t in_flight) {
    lsr::core::WriteKeyLimits l;
    l.requests_per_second = rps;
    l.burst = burst;
    l.max_in_flight = in_flight;
    return l;
}
}  // namespace

TEST_CASE("WriteKeyQueue: capacity is free slots bounded by tokens") {
    WriteKeyQueue q("wk_alpha", limits(10, 3, 4), 0);
    bool tokens_limited = true;
    CHECK(q.capacity(0, &tokens_limited) == 3);  // burst 3 < 4 slots
    CHECK(tokens_limited);
    q.take(0, 3);
    for (int i = 0; i < 3; ++i) q.on_send();
    CHECK(q.capacity(0, &tokens_limited) == 0);
    CHECK(q.next_token_ms(0) == 100);
    CHECK(q.capacity(100) == 1);
    q.on_send();
    CHECK(q.capacity(10'000, &tokens_limited) == 0);  // all 4 slots busy
    CHECK_FALSE(tokens_limited);
    q.on_settled();
    CHECK(q.capacity(10'000) == 1);
}

TEST_CASE("WriteKeyQueue: unused tokens are refunded") {
    WriteKeyQueue q("wk_alpha", limits(1, 4, 8), 0);
    CHECK(q.capacity(0) == 4);
    q.take(0, 4);
    CHECK(q.capacity(0) == 0);
    q.refund(3);
    CHECK(q.capacity(0) == 3);
}

TEST_CASE("WriteKeyQueue: unlimited rate leaves only the in-flight cap") {
    WriteKeyQueue q("wk_alpha", limits(0, 1, 5), 0);
    CHECK(q.capacity(0) == 5);
    q.take(0, 5);
    CHECK(q.capacity(0) == 5);
}

TEST_CASE("WriteKeyQueue: a pause stops leasing until it ends and never shortens") {
    WriteKeyQueue q("wk_alpha", limits(0, 1, 2), 0);
    q.pause_until(5000);
    CHECK(q.paused(4999));
    CHECK(q.capacity(4999) == 0);
    q.pause_until(3000);
    CHECK(q.paused_until_ms() == 5000);
    CHECK_FALSE(q.paused(5000));
    CHECK(q.capacity(5000) == 2);
}

TEST_CASE("WriteKeyQueue: AIMD on the in-flight cap") {
    WriteKeyQueue q("wk_alpha", limits(0, 1, 8), 0);
    CHECK(q.in_flight_limit() == 8);
    q.on_congestion();
    CHECK(q.in_flight_limit() == 4);
    q.on_congestion();
    q.on_congestion();
    q.on_congestion();
    CHECK(q.in_flight_limit() == 1);
    CHECK(q.capacity(0) == 1);
    q.on_success();
    q.on_success();
    CHECK(q.in_flight_limit() == 3);
    for (int i = 0; i < 20; ++i) q.on_success();
    CHECK(q.in_flight_limit() == 8);
}

TEST_CASE("WriteKeyQueue: next due time and short keys") {
    WriteKeyQueue q("wk_alpha_secret", limits(0, 1, 1), 0);
    CHECK(q.next_due_ms() == 0);
    q.set_next_due(WriteKeyQueue::kNever);
    q.lower_next_due(700);
    q.lower_next_due(900);
    CHECK(q.next_due_ms() == 700);
    CHECK(WriteKeyQueue::short_key("wk_alpha_secret") == "wk_a\u2026");
    CHECK(WriteKeyQueue::short_key("abc") == "***\u2026");
    CHECK(q.max_in_flight() == 1);
    CHECK(WriteKeyQueue("k", limits(0, 1, 0), 0).max_in_flight() == 1);  // at least one
}

TEST_CASE("WriteKeyQueue: a failing key sends one probe at a time, at its probe time, any batch") {
    lsr::core::RetrySettings retry;
    retry.base_delay_ms = 100;
    retry.max_delay_ms = 60'000;
    WriteKeyQueue q("wk_alpha", limits(0, 0, 4), 0, retry);
    q.on_send();
    CHECK(q.on_successful_request(q.send_epoch()));  // the key's first answer
    q.on_settled();
    q.end_recovery();
    q.set_next_due(50'000);  // the batches wait their own backoff
    CHECK(q.due_at(1'000) == 50'000);
    CHECK(q.lease_horizon(1'000) == 1'000);
    const auto epoch = q.send_epoch();
    q.on_send();
    q.on_failed_request(1'000, epoch, 0.5);  // delay 50 ms
    CHECK(q.health().failing());
    CHECK(q.due_at(1'000) == WriteKeyQueue::kNever);  // a request is still out
    q.on_settled();
    CHECK(q.due_at(1'000) == 1'050);  // the probe, not the batches' 50 s
    CHECK(q.capacity(1'010) == 0);
    CHECK(q.capacity(1'050) == 1);
    CHECK(q.lease_horizon(1'050) == 50'000);  // the batch due soonest, before its time
    const auto probe = q.send_epoch();
    q.on_send();
    CHECK(q.capacity(1'050) == 0);
    CHECK(q.on_successful_request(probe));
    q.on_settled();
    CHECK_FALSE(q.health().failing());
    CHECK(q.due_at(1'060) == 1'060);                         // every waiting batch is due now
    CHECK(q.capacity(1'060) == 4);                           // full speed
    CHECK(q.lease_horizon(1'060) == WriteKeyQueue::kNever);  // regardless of their backoff
    q.end_recovery();
    CHECK(q.due_at(1'060) == 50'000);
    CHECK(q.lease_horizon(1'060) == 1'060);
}

namespace {

using Step = WriteKeyQueue::Step;
using lsr::core::SettleDecision;

SettleDecision decision(SettleDecision::Kind kind, int status, std::string reason = {}) {
    SettleDecision d;
    d.kind = kind;
    d.status = status;
    d.reason = std::move(reason);
    d.congestion = status == 0 || status == 429 || status >= 500;
    d.failed_request = kind == SettleDecision::Kind::retry || kind == SettleDecision::Kind::give_up;
    return d;
}

// Leases one batch at `now` and sends it, as the pump does.
void lease_one(WriteKeyQueue& q, std::int64_t now) {
    const Step s = q.next_step(now);
    REQUIRE(s.kind == Step::Kind::lease);
    q.end_lease(s.count, 1);
    q.on_send();
}

}  // namespace

TEST_CASE("WriteKeyQueue: the pump leases as many batches as the in-flight cap allows, then waits") {
    WriteKeyQueue q("wk_alpha", limits(0, 1, 2), 0);
    const Step first = q.next_step(0);
    REQUIRE(first.kind == Step::Kind::lease);
    CHECK(first.count == 2);
    CHECK(first.horizon_ms == 0);  // what is due by now
    CHECK(q.leasing());
    CHECK(q.next_step(0).kind == Step::Kind::wait_for_news);  // one lease at a time
    q.end_lease(2, 2);
    q.on_send();
    q.on_send();
    CHECK(q.next_step(0).kind == Step::Kind::wait_for_news);  // both slots busy: a settle pumps
    q.on_settled();
    const Step next = q.next_step(0);
    CHECK(next.kind == Step::Kind::lease);
    CHECK(next.count == 1);
}

TEST_CASE("WriteKeyQueue: the token bucket spaces leases (10/s, burst 1: one every 100 ms)") {
    WriteKeyQueue q("wk_alpha", limits(10, 1, 4), 0);
    std::vector<std::int64_t> sent;
    std::int64_t t = 0;
    while (sent.size() < 5) {
        const Step s = q.next_step(t);
        if (s.kind == Step::Kind::lease) {
            CHECK(s.count == 1);
            q.end_lease(s.count, 1);
            q.set_next_due(0);  // more are waiting
            sent.push_back(t);
            continue;
        }
        REQUIRE(s.kind == Step::Kind::wait_until);
        t = s.at_ms;
    }
    CHECK(sent == std::vector<std::int64_t>{0, 100, 200, 300, 400});
}

TEST_CASE("WriteKeyQueue: a short lease ends what the key knows to be due, unless a hint came meanwhile") {
    WriteKeyQueue q("wk_alpha", limits(5, 5, 4), 0);
    REQUIRE(q.next_step(0).kind == Step::Kind::lease);
    q.end_lease(4, 1);
    q.on_send();
    CHECK(q.next_due_ms() == WriteKeyQueue::kNever);
    CHECK(q.capacity(0) == 3);  // the three unused tokens came back; one slot in use
    CHECK(q.next_step(0).kind == Step::Kind::wait_for_news);
    q.hint_due(10);  // a notify
    const Step s = q.next_step(10);
    REQUIRE(s.kind == Step::Kind::lease);
    q.hint_due(10);  // another, while that lease reads the spool
    q.end_lease(s.count, 0);
    CHECK(q.next_due_ms() == 10);  // not forgotten
}

TEST_CASE("WriteKeyQueue: a Retry-After pauses this key only, and says when a pause begins") {
    WriteKeyQueue alpha("wk_alpha", limits(0, 1, 4), 0);
    WriteKeyQueue beta("wk_beta", limits(0, 1, 4), 0);
    lease_one(alpha, 1'000);
    SettleDecision d = decision(SettleDecision::Kind::retry, 429, "http_429");
    d.pause = true;
    d.delay_ms = 1'000;
    d.next_attempt_ms = 2'000;
    const auto effect = alpha.on_answer(d, 1'000, alpha.send_epoch());
    CHECK(effect.pause_began);
    alpha.on_settled();
    alpha.hint_due(d.next_attempt_ms);
    alpha.hint_due(1'050);  // a new batch for alpha meanwhile
    const Step waiting = alpha.next_step(1'050);
    CHECK(waiting.kind == Step::Kind::wait_until);
    CHECK(waiting.at_ms == 2'000);                           // not before the pause ends
    CHECK(beta.next_step(1'050).kind == Step::Kind::lease);  // beta flows
    CHECK(alpha.last_error() == "http_429");
    CHECK(alpha.failed_attempts() == 1);
    CHECK(alpha.in_flight_limit() == 2);  // a 429 is congestion

    // After the pause, a new wait begins a pause; a shorter one inside it does not.
    d.delay_ms = 500;
    lease_one(alpha, 2'000);
    CHECK(alpha.on_answer(d, 2'000, alpha.send_epoch()).pause_began);
    SettleDecision shorter = d;
    shorter.delay_ms = 100;
    CHECK_FALSE(alpha.on_answer(shorter, 2'000, alpha.send_epoch()).pause_began);
    CHECK(alpha.paused_until_ms() == 2'500);
}

TEST_CASE("WriteKeyQueue: when a failing key answers again, its waiting batches are due at once") {
    WriteKeyQueue q("wk_alpha", limits(0, 1, 4), 0);
    lease_one(q, 0);
    CHECK_FALSE(q.on_answer(decision(SettleDecision::Kind::deliver, 200), 0, q.send_epoch()).recovered);
    q.on_settled();
    lease_one(q, 0);         // the first answer made everything due: one more goes ...
    q.set_next_due(20'000);  // ... while the others wait out long backoffs
    SettleDecision failed = decision(SettleDecision::Kind::retry, 503, "http_503");
    failed.probe_jitter = 0.5;
    q.on_answer(failed, 100, q.send_epoch());
    q.on_settled();
    CHECK(q.health().failing());
    const std::int64_t probe_at = q.health().next_probe_ms();
    const Step probe = q.next_step(probe_at);
    REQUIRE(probe.kind == Step::Kind::lease);
    CHECK(probe.count == 1);
    CHECK(probe.horizon_ms == 20'000);  // the batch due soonest, before its time
    q.end_lease(1, 1);
    q.on_send();
    const auto effect = q.on_answer(decision(SettleDecision::Kind::deliver, 200), probe_at, q.send_epoch());
    CHECK(effect.recovered);
    q.on_settled();
    CHECK(q.next_due_ms() == probe_at);  // every waiting batch is due now
    const Step all = q.next_step(probe_at);
    REQUIRE(all.kind == Step::Kind::lease);
    CHECK(all.horizon_ms == WriteKeyQueue::kNever);
}

TEST_CASE("WriteKeyQueue: a local failure changes nothing but the last error; settles are counted") {
    WriteKeyQueue q("wk_alpha", limits(0, 1, 4), 0);
    lease_one(q, 0);
    SettleDecision local = decision(SettleDecision::Kind::local_failure, 0, "local: refused");
    local.congestion = false;
    local.failed_request = false;
    const auto effect = q.on_answer(local, 0, q.send_epoch());
    CHECK_FALSE(effect.recovered);
    CHECK_FALSE(effect.pause_began);
    CHECK(q.last_error() == "local: refused");
    CHECK(q.in_flight_limit() == 4);
    CHECK_FALSE(q.health().proven());
    q.record(local);
    q.record(decision(SettleDecision::Kind::deliver, 200));
    q.record(decision(SettleDecision::Kind::split, 400));
    q.record(decision(SettleDecision::Kind::give_up, 503));
    CHECK(q.delivered_batches() == 1);
    CHECK(q.dead_lettered_batches() == 2);
    CHECK(q.failed_attempts() == 0);
}

TEST_CASE("WriteKeyQueue: a key with nothing left is idle") {
    WriteKeyQueue q("wk_alpha", limits(0, 1, 4), 0);
    CHECK(q.idle(0, false));
    CHECK_FALSE(q.idle(0, true));  // still in the spool
    q.pause_until(500);
    CHECK_FALSE(q.idle(0, false));  // its pause must be remembered
    CHECK(q.idle(500, false));
    lease_one(q, 500);
    CHECK_FALSE(q.idle(500, false));  // in flight
    q.on_settled();
    CHECK(q.idle(500, false));
}
