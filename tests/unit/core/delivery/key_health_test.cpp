#include "core/delivery/key_health.hpp"

#include <catch2/catch.hpp>

using lsr::core::KeyHealth;

TEST_CASE("KeyHealth: healthy keys follow each batch's own schedule") {
    KeyHealth h(500, 60'000);
    CHECK(h.on_success(h.send_epoch()));  // the first answer proves the key
    h.end_recovery();
    CHECK(h.proven());
    CHECK_FALSE(h.failing());
    CHECK(h.slots(0, 1, 4) == 3);
    CHECK(h.slots(0, 4, 4) == 0);
    CHECK(h.due_at(1'000, 30'000, 0) == 30'000);
    CHECK(h.due_at(1'000, KeyHealth::kNever, 0) == KeyHealth::kNever);
    CHECK(h.lease_horizon(1'000, 30'000) == 1'000);
    CHECK_FALSE(h.on_success(h.send_epoch()));  // nothing to recover from
}

TEST_CASE("KeyHealth: a failure opens the circuit; probes back off up to the probe ceiling") {
    KeyHealth h(500, 60'000);
    const auto before = h.send_epoch();
    h.on_failure(10'000, before, 0.999);
    REQUIRE(h.failing());
    CHECK(h.next_probe_ms() == 10'000 + 499);
    CHECK(h.slots(10'000, 0, 4) == 0);
    CHECK(h.slots(10'499, 0, 4) == 1);
    CHECK(h.slots(10'499, 1, 4) == 0);  // one probe at a time
    CHECK(h.due_at(10'000, 70'000, 0) == 10'499);
    CHECK(h.due_at(10'000, 70'000, 1) == KeyHealth::kNever);  // wait for the probe's answer
    // the probe takes the batch due soonest, before its time if need be
    CHECK(h.lease_horizon(10'499, 70'000) == 70'000);
    CHECK(h.lease_horizon(10'499, 9'000) == 10'499);
    // answers to requests sent before the streak move nothing
    h.on_failure(10'100, before, 0.999);
    CHECK(h.next_probe_ms() == 10'499);
    CHECK_FALSE(h.on_success(before));
    CHECK(h.failing());
    // failed probes: 1000, 2000, 4000, then the ceiling (5 s, below max_delay 60 s)
    std::int64_t t = 10'499;
    const std::int64_t expected[] = {999, 1'998, 3'996, 4'995, 4'995};
    for (const auto delay : expected) {
        h.on_failure(t, h.send_epoch(), 0.999);
        CHECK(h.next_probe_ms() == t + delay);
        t += delay;
    }
}

TEST_CASE("KeyHealth: the probe ceiling never exceeds max_delay") {
    KeyHealth h(100, 300);
    for (int i = 0; i < 10; ++i) h.on_failure(0, h.send_epoch(), 0.999);
    CHECK(h.next_probe_ms() == 299);
}

TEST_CASE("KeyHealth: a successful probe makes every waiting batch due until none is left") {
    KeyHealth h(500, 60'000);
    h.on_failure(0, h.send_epoch(), 0.0);
    const auto probe = h.send_epoch();
    CHECK(h.on_success(probe));
    CHECK_FALSE(h.failing());
    CHECK(h.recovering());
    CHECK(h.due_at(2'000, 55'000, 3) == 2'000);
    CHECK(h.due_at(2'000, KeyHealth::kNever, 0) == KeyHealth::kNever);
    CHECK(h.lease_horizon(2'000, 55'000) == KeyHealth::kNever);
    CHECK(h.slots(2'000, 1, 4) == 3);
    CHECK_FALSE(h.on_success(probe));  // a second answer of the same epoch changes nothing
    h.end_recovery();
    CHECK(h.due_at(2'000, 55'000, 0) == 55'000);
    CHECK(h.lease_horizon(2'000, 55'000) == 2'000);
}

TEST_CASE("KeyHealth: failing again during the recovery stops it") {
    KeyHealth h(500, 60'000);
    h.on_failure(0, h.send_epoch(), 0.0);
    REQUIRE(h.on_success(h.send_epoch()));
    h.on_failure(100, h.send_epoch(), 0.5);
    CHECK(h.failing());
    CHECK_FALSE(h.recovering());
    CHECK(h.next_probe_ms() == 100 + 250);  // a new streak starts from the base
}

TEST_CASE("KeyHealth: an unproven key probes batches that wait out an earlier backoff") {
    // After a restart the spool's batches may wait out backoffs from before it: one probe
    // goes now, and its success makes them all due.
    KeyHealth h(500, 60'000);
    CHECK_FALSE(h.proven());
    CHECK(h.due_at(1'000, 500, 0) == 500);  // due anyway: nothing special
    CHECK(h.lease_horizon(1'000, 500) == 1'000);
    CHECK(h.due_at(1'000, 40'000, 0) == 1'000);  // waiting: probe now
    CHECK(h.due_at(1'000, 40'000, 1) == KeyHealth::kNever);
    CHECK(h.lease_horizon(1'000, 40'000) == 40'000);  // the batch due soonest
    CHECK(h.on_success(h.send_epoch()));
    CHECK(h.recovering());
    CHECK(h.due_at(1'100, 45'000, 0) == 1'100);
    h.end_recovery();
    CHECK(h.due_at(1'100, 45'000, 0) == 45'000);
}

TEST_CASE("KeyHealth: an unproven key whose first answer fails is failing") {
    KeyHealth h(500, 60'000);
    h.on_failure(1'000, h.send_epoch(), 0.5);
    CHECK(h.proven());
    CHECK(h.failing());
    CHECK(h.next_probe_ms() == 1'250);
}
