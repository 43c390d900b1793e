#include "server/delivery/write_key_queue.hpp"

#include <catch2/catch.hpp>

using lsr::server::WriteKeyQueue;

namespace {
lsr::config::WriteKeyLimits limits(double rps, double burst, std::uint32_t in_flight) {
    lsr::config::WriteKeyLimits l;
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
