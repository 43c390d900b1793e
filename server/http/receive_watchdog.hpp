// How fast a request's bytes arrive. A receive phase (the headers, or the body) has a total
// deadline and, when a minimum rate is set, is cut into windows: every window must bring at
// least min_bytes_per_s * window bytes, else the client is too slow (nginx's
// client_header_timeout / client_body_timeout, measured as a rate instead of one total time).
// Pure: the session owns the timer, reports the bytes and calls check() at next_check().
#pragma once

#include <chrono>
#include <cstdint>

namespace lsr::server {

class ReceiveWatchdog {
  public:
    using Clock = std::chrono::steady_clock;
    enum class Verdict { ok, too_slow, past_deadline };

    ReceiveWatchdog(std::uint32_t min_bytes_per_s, std::chrono::milliseconds window);

    // Starts a phase: the first window begins now. Without watch_rate only the deadline counts
    // (a keep-alive connection waiting for its next request sends nothing, rightly).
    void start(Clock::time_point now, Clock::time_point deadline, bool watch_rate = true);
    void received(std::uint64_t bytes) { in_window_ += bytes; }

    // When check() must next be called: the end of the current window or the deadline.
    Clock::time_point next_check() const;

    // ok: a window that brought enough bytes ended, and the next one begins now.
    Verdict check(Clock::time_point now);

    std::uint64_t bytes_per_window() const { return need_; }

  private:
    std::uint64_t need_;  // 0: no rate check, only the deadline
    std::chrono::milliseconds window_;
    Clock::time_point window_end_{};
    Clock::time_point deadline_{};
    std::uint64_t in_window_ = 0;
    bool watch_rate_ = true;
};

}  // namespace lsr::server
