// GCC 12 reports a false "potential null pointer dereference" inside Asio's executor
// comparison (any_executor::equal_ex); the pragma must precede the includes to reach it.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wnull-dereference"
#endif

// How the dispatcher leases and sends: the in-flight cap of a key, probes of a failing key,
// and what waits after a restart. The key's state itself: tests/unit/core/delivery/write_key_queue_test.cpp.
#include <catch2/catch.hpp>

#include "dispatcher_fixture.hpp"

using namespace lsr::test;

TEST_CASE("DeliveryDispatcher: in-flight cap per write key") {
    Fixture f;
    f.cfg.per_write_key.max_in_flight = 2;
    StandInAnswer slow;
    slow.delay = 80ms;
    f.stand_in.set_decide([&](const StandInRequest&) { return slow; });
    for (int i = 0; i < 6; ++i) f.append("wk_alpha", {"c" + std::to_string(i)});
    f.start();
    REQUIRE(wait_until([&] { return f.spool_empty(); }));
    CHECK(f.stand_in.max_concurrent() == 2);
    CHECK(f.stand_in.requests().size() == 6);
}

TEST_CASE("DeliveryDispatcher: when a failing write key answers again, its waiting batches are due at once") {
    // After an outage the key's batches wait long backoffs (20 s here). One request fails, the
    // key is probed, the probe succeeds: everything waiting goes now, not after the backoffs.
    Fixture f;
    f.cfg.retry.base_delay_ms = 20;
    f.cfg.retry.max_delay_ms = 30'000;
    for (int i = 0; i < 5; ++i) f.append("wk_alpha", {"w" + std::to_string(i)});
    {
        auto waiting = f.spool->lease_due("wk_alpha", wall_ms(), 10);
        REQUIRE(waiting.size() == 5);
        for (const auto& b : waiting)
            REQUIRE_FALSE(f.spool->reschedule(b.id, wall_ms() + 20'000, "http_503"));
    }
    f.append("wk_alpha", {"now"});
    StandInAnswer e503;
    e503.status = 503;
    f.stand_in.push(e503);
    const auto start = lsr::core::Clock::system().steady();
    f.start();
    REQUIRE(wait_until([&] { return f.spool_empty(); }, 15s));
    CHECK(lsr::core::Clock::system().steady() - start < 10s);  // not the 20 s backoff
    const auto reqs = f.stand_in.requests();
    CHECK(reqs.size() == 7);  // the 503, the probe, then the other five
    REQUIRE(wait_until([&] { return f.settled_copy().size() == 6; }));
    CHECK(metric(f.registry, "lsr_delivered_events_total") == 6);
}

TEST_CASE("DeliveryDispatcher: one batch Segment keeps failing does not hold up its write key") {
    // The key's oldest batch always gets a 500. Probes take the batch due soonest, so the
    // failed one goes behind the others, and the rest of the key is delivered.
    Fixture f;
    f.cfg.retry.base_delay_ms = 20;
    f.cfg.retry.max_delay_ms = 30'000;
    f.cfg.per_write_key.max_in_flight = 1;
    f.stand_in.set_decide([](const StandInRequest& r) {
        StandInAnswer a;
        if (r.body.find("\"userId\":\"p1\"") != std::string::npos) a.status = 500;
        return a;
    });
    f.append("wk_alpha", {"p1"}, "r1", wall_ms() - 1'000);
    for (int i = 0; i < 5; ++i) f.append("wk_alpha", {"g" + std::to_string(i)});
    f.start();
    // The metric counts a batch once its settle is written and handed back to the strand,
    // a moment after the spool shows it gone.
    REQUIRE(wait_until(
        [&] {
            return f.spool->stats().batches == 1 && metric(f.registry, "lsr_delivered_events_total") == 5;
        },
        10s));
    CHECK(metric(f.registry, "lsr_delivered_events_total") == 5);
}

TEST_CASE(
    "DeliveryDispatcher: after a restart, batches waiting out an earlier backoff go once a probe succeeds") {
    // The spool holds batches rescheduled 20 s ahead by an earlier run (Segment was down
    // then). A new dispatcher probes the key at once; Segment answers, and they all go.
    Fixture f;
    f.cfg.retry.max_delay_ms = 30'000;
    for (int i = 0; i < 5; ++i) f.append("wk_alpha", {"w" + std::to_string(i)});
    {
        auto waiting = f.spool->lease_due("wk_alpha", wall_ms(), 10);
        REQUIRE(waiting.size() == 5);
        for (const auto& b : waiting) REQUIRE_FALSE(f.spool->reschedule(b.id, wall_ms() + 20'000, "network"));
        f.spool->release_all_leases();
    }
    const auto start = lsr::core::Clock::system().steady();
    f.start();
    REQUIRE(wait_until([&] { return f.spool_empty(); }, 15s));
    CHECK(lsr::core::Clock::system().steady() - start < 10s);  // not the 20 s backoff
    CHECK(f.stand_in.requests().size() == 5);
}
