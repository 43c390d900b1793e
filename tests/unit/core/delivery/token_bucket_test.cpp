#include "core/delivery/token_bucket.hpp"

#include <catch2/catch.hpp>

using lsr::core::TokenBucket;

TEST_CASE("TokenBucket: starts full and drains to empty") {
    TokenBucket b(10, 3, 0);
    CHECK(b.available(0) == 3);
    CHECK(b.try_take(0));
    CHECK(b.try_take(0));
    CHECK(b.try_take(0));
    CHECK_FALSE(b.try_take(0));
    CHECK(b.ms_until(0) == 100);
}

TEST_CASE("TokenBucket: refills at the rate, never above burst") {
    TokenBucket b(10, 3, 0);
    for (int i = 0; i < 3; ++i) REQUIRE(b.try_take(0));
    CHECK_FALSE(b.try_take(99));
    CHECK(b.try_take(100));
    CHECK_FALSE(b.try_take(150));
    CHECK(b.ms_until(150) == 50);
    CHECK(b.available(10'000) == 3);
    CHECK(b.try_take(10'000, 3));
    CHECK_FALSE(b.try_take(10'000, 1));
}

TEST_CASE("TokenBucket: a failed take takes nothing; refunds are capped") {
    TokenBucket b(1, 2, 0);
    CHECK_FALSE(b.try_take(0, 3));
    CHECK(b.available(0) == 2);
    CHECK(b.try_take(0, 2));
    b.refund(5);
    CHECK(b.available(0) == 2);
}

TEST_CASE("TokenBucket: time going backwards is ignored") {
    TokenBucket b(1, 1, 1000);
    CHECK(b.try_take(1000));
    CHECK_FALSE(b.try_take(500));
    CHECK(b.try_take(2000));
}

TEST_CASE("TokenBucket: ms_until for more than burst waits for a full bucket") {
    TokenBucket b(2, 4, 0);
    CHECK(b.try_take(0, 4));
    CHECK(b.ms_until(0, 10) == 2000);
}

TEST_CASE("TokenBucket: rate 0 means unlimited") {
    TokenBucket b(0, 1, 0);
    CHECK(b.unlimited());
    for (int i = 0; i < 1000; ++i) REQUIRE(b.try_take(0));
    CHECK(b.ms_until(0) == 0);
}

TEST_CASE("TokenBucket: a long run keeps the average rate") {
    TokenBucket b(50, 20, 0);
    int taken = 0;
    for (std::int64_t t = 0; t <= 10'000; t += 1) {
        while (b.try_take(t)) ++taken;
    }
    // 20 burst + 50/s over 10 s
    CHECK(taken == 520);
}
