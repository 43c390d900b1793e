#include "core/delivery/backoff_policy.hpp"

#include <catch2/catch.hpp>

using lsr::core::BackoffPolicy;

TEST_CASE("BackoffPolicy: ceiling doubles from the base and stops at the cap") {
    BackoffPolicy p(500, 60'000);
    CHECK(p.ceiling_ms(0) == 500);
    CHECK(p.ceiling_ms(1) == 1000);
    CHECK(p.ceiling_ms(2) == 2000);
    CHECK(p.ceiling_ms(6) == 32'000);
    CHECK(p.ceiling_ms(7) == 60'000);
    CHECK(p.ceiling_ms(8) == 60'000);
    CHECK(p.ceiling_ms(40) == 60'000);
    CHECK(p.ceiling_ms(4'000'000'000u) == 60'000);
}

TEST_CASE("BackoffPolicy: full jitter spans [0, ceiling)") {
    BackoffPolicy p(500, 60'000);
    CHECK(p.delay_ms(0, 0.0) == 0);
    CHECK(p.delay_ms(0, 0.5) == 250);
    CHECK(p.delay_ms(0, 0.999999) == 499);
    CHECK(p.delay_ms(3, 0.5) == 2000);
    CHECK(p.delay_ms(20, 0.5) == 30'000);
    // out-of-range and NaN inputs are clamped, never exceed the ceiling
    CHECK(p.delay_ms(0, 1.0) == 499);
    CHECK(p.delay_ms(0, 7.0) == 499);
    CHECK(p.delay_ms(0, -1.0) == 0);
    CHECK(p.delay_ms(0, std::nan("")) == 0);
}

TEST_CASE("BackoffPolicy: the injected source drives next_delay_ms") {
    double u = 0.25;
    BackoffPolicy p(100, 1000, [&] { return u; });
    CHECK(p.next_delay_ms(0) == 25);
    CHECK(p.next_delay_ms(2) == 100);
    u = 0.75;
    CHECK(p.next_delay_ms(10) == 750);
}

TEST_CASE("BackoffPolicy: the default source stays inside the bounds") {
    BackoffPolicy p(500, 60'000);
    for (std::uint32_t n = 0; n < 20; ++n) {
        for (int i = 0; i < 50; ++i) {
            const auto d = p.next_delay_ms(n);
            REQUIRE(d >= 0);
            REQUIRE(d < p.ceiling_ms(n));
        }
    }
}

TEST_CASE("BackoffPolicy: degenerate configuration") {
    BackoffPolicy zero(0, 0);  // base floored at 1 ms, cap at least the base
    CHECK(zero.ceiling_ms(0) == 1);
    CHECK(zero.ceiling_ms(5) == 1);
    BackoffPolicy inverted(1000, 10);  // cap below base: the base wins
    CHECK(inverted.ceiling_ms(0) == 1000);
    CHECK(inverted.ceiling_ms(3) == 1000);
}

TEST_CASE("BackoffPolicy: draw() hands out the injected uniform source") {
    BackoffPolicy p(500, 60'000, [] { return 0.25; });
    CHECK(p.draw() == 0.25);
    BackoffPolicy q(500, 60'000);
    for (int i = 0; i < 100; ++i) {
        const double u = q.draw();
        CHECK(u >= 0.0);
        CHECK(u < 1.0);
    }
}
