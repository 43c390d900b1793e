// Capped exponential backoff with full jitter: the delay before retry n (n = failures so
// far, 0-based) is uniform in [0, min(max_delay, base * 2^n)). The uniform source is
// injected so tests can pin it; by default it is a per-object std::mt19937_64.
#pragma once

#include <cstdint>
#include <functional>
#include <random>

namespace lsr::core {

class BackoffPolicy {
  public:
    using UniformSource = std::function<double()>;  // returns a value in [0, 1)

    BackoffPolicy(std::uint32_t base_delay_ms, std::uint32_t max_delay_ms);
    BackoffPolicy(std::uint32_t base_delay_ms, std::uint32_t max_delay_ms, UniformSource uniform);

    // The ceiling for failure n: min(max_delay, base * 2^n), never below 1 ms.
    std::int64_t ceiling_ms(std::uint32_t failures) const;
    // Delay for failure n with the given uniform value u in [0, 1) (clamped into range).
    std::int64_t delay_ms(std::uint32_t failures, double u) const;
    // Delay for failure n drawn from the uniform source.
    std::int64_t next_delay_ms(std::uint32_t failures);
    // One value in [0, 1) from the uniform source (jitter for other schedules).
    double draw();

  private:
    std::uint32_t base_ms_;
    std::uint32_t max_ms_;
    UniformSource uniform_;
    std::mt19937_64 rng_;
};

}  // namespace lsr::core
