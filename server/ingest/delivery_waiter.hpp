// `ack: delivered`: waits, bounded, until Segment settled (delivered or dead-lettered) every
// event an execute spooled, then calls `done` once with what was settled. It gives up early
// (with what is settled so far) at its deadline, when the relay drains, or when the job is
// stopped. Settles are counted in events, not batches: a batch split after a 400/413
// settles in parts.
//
// check() may be called from any thread (the ledger's change callback); a short poll on
// `executor` watches the deadline and the give-up condition.
#pragma once

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

#include "core/clock.hpp"
#include "core/hub/execute_report.hpp"

namespace lsr::server {

class DeliveryWaiter : public std::enable_shared_from_this<DeliveryWaiter> {
  public:
    using Count = std::function<core::SettledEvents()>;
    using GiveUp = std::function<bool()>;  // true: stop waiting now (drain, Looker gone)
    using Done = std::function<void(const core::SettledEvents&)>;

    static constexpr std::chrono::milliseconds kPoll{100};

    DeliveryWaiter(boost::asio::any_io_executor executor, const core::Clock& clock, std::uint64_t events,
                   std::chrono::milliseconds timeout, Count count, GiveUp give_up, Done done);

    // Sets the deadline, starts the poll, and checks once.
    void start();
    // Answers when everything is settled (or `give_up_now`); otherwise does nothing.
    void check(bool give_up_now);
    // One poll: gives up at the deadline or when GiveUp says so; true while still waiting.
    bool tick();
    bool finished() const { return finished_.load(); }

  private:
    void poll();

    boost::asio::steady_timer timer_;
    const core::Clock& clock_;
    const std::uint64_t events_;
    const std::chrono::milliseconds timeout_;
    core::Clock::Steady deadline_{};
    Count count_;
    GiveUp give_up_;
    Done done_;
    std::atomic<bool> finished_{false};
};

}  // namespace lsr::server
