#include "server/http/receive_watchdog.hpp"

#include <algorithm>

namespace lsr::server {

ReceiveWatchdog::ReceiveWatchdog(std::uint32_t min_bytes_per_s, std::chrono::milliseconds window)
    : need_(static_cast<std::uint64_t>(min_bytes_per_s) * static_cast<std::uint64_t>(window.count()) / 1000),
      window_(window) {}

void ReceiveWatchdog::start(Clock::time_point now, Clock::time_point deadline, bool watch_rate) {
    deadline_ = deadline;
    watch_rate_ = watch_rate;
    window_end_ = now + window_;
    in_window_ = 0;
}

ReceiveWatchdog::Clock::time_point ReceiveWatchdog::next_check() const {
    return need_ == 0 || !watch_rate_ ? deadline_ : std::min(window_end_, deadline_);
}

ReceiveWatchdog::Verdict ReceiveWatchdog::check(Clock::time_point now) {
    if (now >= deadline_) return Verdict::past_deadline;
    if (need_ == 0 || !watch_rate_ || now < window_end_) return Verdict::ok;
    if (in_window_ < need_) return Verdict::too_slow;
    window_end_ = now + window_;
    in_window_ = 0;
    return Verdict::ok;
}

}  // namespace lsr::server
