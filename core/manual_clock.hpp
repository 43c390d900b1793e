// A Clock that moves only when told: for tests of anything that reads the time.
#pragma once

#include <atomic>

#include "core/clock.hpp"

namespace lsr::core {

class ManualClock final : public Clock {
  public:
    explicit ManualClock(std::int64_t unix_ms = 1'700'000'000'000) : unix_ms_(unix_ms) {}

    std::int64_t unix_ms() const override { return unix_ms_.load(); }
    Steady steady() const override { return Steady{} + std::chrono::milliseconds(elapsed_ms_.load()); }

    void advance(std::chrono::milliseconds d) {
        unix_ms_ += d.count();
        elapsed_ms_ += d.count();
    }
    void set_unix_ms(std::int64_t ms) { unix_ms_ = ms; }  // wall time only; steady stays

  private:
    std::atomic<std::int64_t> unix_ms_;
    std::atomic<std::int64_t> elapsed_ms_{0};
};

}  // namespace lsr::core
