// The timer side of a ReceiveWatchdog: armed for each receive phase, it checks the watchdog at
// every window's end and calls on_expired (on the session's strand) when the client is too
// slow or past the phase's deadline. Holds its owner weakly: a pending wait never keeps a
// finished connection alive.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

#include "core/clock.hpp"
#include "server/http/receive_watchdog.hpp"

namespace lsr::server {

class ReceiveTimer {
  public:
    using Verdict = ReceiveWatchdog::Verdict;

    ReceiveTimer(boost::asio::any_io_executor executor, const core::Clock& clock,
                 std::uint32_t min_bytes_per_s, std::chrono::milliseconds window);

    void arm(std::weak_ptr<void> owner, ReceiveWatchdog::Clock::duration total, bool watch_rate,
             std::function<void(Verdict)> on_expired);
    void received(std::uint64_t bytes) { watchdog_.received(bytes); }
    void stop();

  private:
    void wait(std::weak_ptr<void> owner, std::uint64_t generation);

    boost::asio::steady_timer timer_;
    const core::Clock& clock_;
    ReceiveWatchdog watchdog_;
    std::uint64_t generation_ = 0;
    std::function<void(Verdict)> on_expired_;
};

}  // namespace lsr::server
