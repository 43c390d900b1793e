#include "server/ingest/delivery_waiter.hpp"

namespace lsr::server {

DeliveryWaiter::DeliveryWaiter(boost::asio::any_io_executor executor, const core::Clock& clock,
                               std::uint64_t events, std::chrono::milliseconds timeout, Count count,
                               GiveUp give_up, Done done)
    : timer_(std::move(executor)),
      clock_(clock),
      events_(events),
      timeout_(timeout),
      count_(std::move(count)),
      give_up_(std::move(give_up)),
      done_(std::move(done)) {}

void DeliveryWaiter::start() {
    deadline_ = clock_.steady() + timeout_;
    poll();
    check(false);
}

void DeliveryWaiter::check(bool give_up_now) {
    const core::SettledEvents settled = count_();
    const bool all_settled = settled.delivered + settled.dead >= events_;
    if (!all_settled && !give_up_now) return;
    if (finished_.exchange(true)) return;
    auto done = std::move(done_);
    done(settled);
}

bool DeliveryWaiter::tick() {
    if (finished_.load()) return false;
    if (give_up_() || clock_.steady() >= deadline_) {
        check(true);
        return false;
    }
    return true;
}

// A short poll rather than one long timer: a drain (SIGTERM) or the deadline gives the
// honest partial answer at once. Only this chain touches the timer, so it needs no cancel.
void DeliveryWaiter::poll() {
    timer_.expires_after(kPoll);
    timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
        if (ec) return;
        if (self->tick()) self->poll();
    });
}

}  // namespace lsr::server
