// The timers of the settles whose spool write failed (disk full, I/O error): each is written
// again after a delay that doubles from kBaseMs up to kCapMs, by the dispatcher itself, so a
// held batch is never left waiting for some other event to wake it. The cap stays well below
// the Spool's own hold of a batch whose settle failed (30 s). One timer per batch, on the
// dispatcher's strand; used on that strand only.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>

#include "core/delivery/backoff_policy.hpp"

namespace lsr::server {

class SettleRetrier {
  public:
    using Strand = boost::asio::strand<boost::asio::io_context::executor_type>;
    static constexpr std::uint32_t kBaseMs = 250;
    static constexpr std::uint32_t kCapMs = 5'000;

    explicit SettleRetrier(Strand strand);

    // How long to wait before writing a settle again after `failures` failed writes (>= 1 ms).
    std::int64_t delay_ms(std::uint32_t failures) const { return backoff_.ceiling_ms(failures); }

    // Calls `fire(true)` on the strand `delay_ms` from now, or `fire(false)` once cancelled
    // (cancel_all). `owner` (the object this retrier belongs to) is kept alive until then.
    void schedule(std::shared_ptr<const void> owner, std::int64_t batch_id, std::int64_t delay_ms,
                  std::function<void(bool due)> fire);

    // Stopping: every waiting settle fires with false (its batch stays in the spool).
    void cancel_all();

  private:
    Strand strand_;
    core::BackoffPolicy backoff_;
    std::map<std::int64_t, std::shared_ptr<boost::asio::steady_timer>> timers_;
};

}  // namespace lsr::server
