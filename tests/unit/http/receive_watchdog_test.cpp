#include "server/http/receive_watchdog.hpp"

#include <catch2/catch.hpp>

using namespace lsr::server;
using namespace std::chrono_literals;
using Verdict = ReceiveWatchdog::Verdict;

TEST_CASE("each window must bring the minimum number of bytes", "[receive_watchdog]") {
    ReceiveWatchdog w(1024, 10s);  // 10,240 bytes per window
    const auto t0 = ReceiveWatchdog::Clock::time_point{} + 1000s;
    w.start(t0, t0 + 600s);
    CHECK(w.bytes_per_window() == 10240);
    CHECK(w.next_check() == t0 + 10s);
    w.received(10240);
    CHECK(w.check(t0 + 10s) == Verdict::ok);  // enough: the next window starts
    CHECK(w.next_check() == t0 + 20s);
    w.received(10239);
    CHECK(w.check(t0 + 20s) == Verdict::too_slow);
}

TEST_CASE("one byte every few seconds is too slow, however long the total time", "[receive_watchdog]") {
    ReceiveWatchdog w(1024, 10s);
    const auto t0 = ReceiveWatchdog::Clock::time_point{} + 1000s;
    w.start(t0, t0 + 600s);
    w.received(1);
    CHECK(w.check(t0 + 5s) == Verdict::ok);  // before the window's end nothing is judged
    w.received(1);
    CHECK(w.check(t0 + 10s) == Verdict::too_slow);
}

TEST_CASE("the total deadline holds even for a fast enough client", "[receive_watchdog]") {
    ReceiveWatchdog w(10, 1s);
    const auto t0 = ReceiveWatchdog::Clock::time_point{} + 1000s;
    w.start(t0, t0 + 2500ms);
    w.received(100);
    CHECK(w.check(t0 + 1s) == Verdict::ok);
    w.received(100);
    CHECK(w.check(t0 + 2s) == Verdict::ok);
    CHECK(w.next_check() == t0 + 2500ms);
    CHECK(w.check(t0 + 2500ms) == Verdict::past_deadline);
}

TEST_CASE("without a rate (disabled, or an idle keep-alive wait) only the deadline counts",
          "[receive_watchdog]") {
    const auto t0 = ReceiveWatchdog::Clock::time_point{} + 1000s;
    ReceiveWatchdog off(0, 10s);
    off.start(t0, t0 + 60s);
    CHECK(off.next_check() == t0 + 60s);
    CHECK(off.check(t0 + 30s) == Verdict::ok);
    ReceiveWatchdog idle(1024, 10s);
    idle.start(t0, t0 + 60s, false);
    CHECK(idle.next_check() == t0 + 60s);
    CHECK(idle.check(t0 + 59s) == Verdict::ok);
    CHECK(idle.check(t0 + 60s) == Verdict::past_deadline);
}

TEST_CASE("start begins a fresh phase", "[receive_watchdog]") {
    ReceiveWatchdog w(100, 1s);
    const auto t0 = ReceiveWatchdog::Clock::time_point{} + 1000s;
    w.start(t0, t0 + 10s);
    w.received(1000);
    w.start(t0 + 1s, t0 + 11s);  // the bytes of the last phase do not count
    CHECK(w.check(t0 + 2s) == Verdict::too_slow);
}
