#include "server/http/receive_timer.hpp"

namespace lsr::server {

ReceiveTimer::ReceiveTimer(boost::asio::any_io_executor executor, const core::Clock& clock,
                           std::uint32_t min_bytes_per_s, std::chrono::milliseconds window)
    : timer_(std::move(executor)), clock_(clock), watchdog_(min_bytes_per_s, window) {}

void ReceiveTimer::arm(std::weak_ptr<void> owner, ReceiveWatchdog::Clock::duration total, bool watch_rate,
                       std::function<void(Verdict)> on_expired) {
    const auto now = clock_.steady();
    watchdog_.start(now, now + total, watch_rate);
    on_expired_ = std::move(on_expired);
    wait(std::move(owner), ++generation_);
}

void ReceiveTimer::stop() {
    ++generation_;
    on_expired_ = nullptr;
    timer_.cancel();
}

void ReceiveTimer::wait(std::weak_ptr<void> owner, std::uint64_t generation) {
    timer_.expires_at(watchdog_.next_check());
    timer_.async_wait([this, owner = std::move(owner), generation](boost::system::error_code ec) {
        if (ec) return;
        const auto alive = owner.lock();
        if (!alive || generation != generation_) return;
        const auto verdict = watchdog_.check(clock_.steady());
        if (verdict == Verdict::ok) return wait(owner, generation);
        auto on_expired = std::move(on_expired_);
        on_expired_ = nullptr;
        if (on_expired) on_expired(verdict);
    });
}

}  // namespace lsr::server
