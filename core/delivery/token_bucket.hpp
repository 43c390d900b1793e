// A token bucket: `rate` tokens per second up to `burst`, starting full. Time is passed in
// (milliseconds on any monotonic scale) so the class holds no clock. rate <= 0 means
// unlimited.
#pragma once

#include <cstdint>

namespace lsr::core {

class TokenBucket {
  public:
    TokenBucket(double rate_per_second, double burst, std::int64_t now_ms);

    // Takes n tokens if available now; false (and nothing taken) otherwise.
    bool try_take(std::int64_t now_ms, double n = 1.0);
    // Gives back tokens taken but not used (never above burst).
    void refund(double n);
    // Whole tokens available now.
    double available(std::int64_t now_ms);
    // Milliseconds until n tokens are available (0 if now); n above burst waits for burst.
    std::int64_t ms_until(std::int64_t now_ms, double n = 1.0);

    bool unlimited() const { return rate_ <= 0.0; }

  private:
    void refill(std::int64_t now_ms);

    double rate_;
    double burst_;
    double tokens_;
    std::int64_t last_ms_;
};

}  // namespace lsr::core
