#include "core/clock.hpp"

#include <catch2/catch.hpp>

#include "core/manual_clock.hpp"

using namespace lsr::core;

TEST_CASE("the system clock reads Unix milliseconds and a monotonic time", "[clock]") {
    const Clock& c = Clock::system();
    CHECK(c.unix_ms() > 1'600'000'000'000);  // after September 2020
    const auto a = c.steady();
    CHECK(c.steady() >= a);
}

TEST_CASE("a manual clock moves only when told", "[clock]") {
    ManualClock c(1'000);
    const auto start = c.steady();
    CHECK(c.unix_ms() == 1'000);
    c.advance(std::chrono::milliseconds(250));
    CHECK(c.unix_ms() == 1'250);
    CHECK(c.steady() - start == std::chrono::milliseconds(250));
    c.set_unix_ms(5);
    CHECK(c.unix_ms() == 5);
    CHECK(c.steady() - start == std::chrono::milliseconds(250));
}
