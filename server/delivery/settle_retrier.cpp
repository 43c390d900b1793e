// GCC 12 reports a false "potential null pointer dereference" inside Asio's executor
// comparison (any_executor::equal_ex); the pragma must precede the includes to reach it.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wnull-dereference"
#endif

#include "server/delivery/settle_retrier.hpp"

#include <chrono>
#include <utility>

namespace lsr::server {

SettleRetrier::SettleRetrier(Strand strand) : strand_(std::move(strand)), backoff_(kBaseMs, kCapMs) {}

void SettleRetrier::schedule(std::shared_ptr<const void> owner, std::int64_t batch_id, std::int64_t delay_ms,
                             std::function<void(bool due)> fire) {
    auto timer = std::make_shared<boost::asio::steady_timer>(strand_);
    timers_[batch_id] = timer;
    timer->expires_after(std::chrono::milliseconds(delay_ms));
    timer->async_wait([this, owner = std::move(owner), batch_id, timer,
                       fire = std::move(fire)](const boost::system::error_code& ec) {
        timers_.erase(batch_id);
        fire(!ec);
    });
}

void SettleRetrier::cancel_all() {
    for (auto& [id, timer] : timers_) {
        timer->cancel();
    }
}

}  // namespace lsr::server
