#include "core/delivery/backoff_policy.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

namespace lsr::core {

BackoffPolicy::BackoffPolicy(std::uint32_t base_delay_ms, std::uint32_t max_delay_ms)
    : base_ms_(std::max<std::uint32_t>(base_delay_ms, 1)),
      max_ms_(std::max(max_delay_ms, std::max<std::uint32_t>(base_delay_ms, 1))),
      rng_(std::random_device{}()) {}

// With a uniform source the generator is never used: no random_device is opened.
BackoffPolicy::BackoffPolicy(std::uint32_t base_delay_ms, std::uint32_t max_delay_ms, UniformSource uniform)
    : base_ms_(std::max<std::uint32_t>(base_delay_ms, 1)),
      max_ms_(std::max(max_delay_ms, std::max<std::uint32_t>(base_delay_ms, 1))),
      uniform_(std::move(uniform)) {}

std::int64_t BackoffPolicy::ceiling_ms(std::uint32_t failures) const {
    // 2^32 * base already exceeds any 32-bit cap, so larger exponents change nothing.
    const std::uint32_t exponent = std::min<std::uint32_t>(failures, 32);
    const std::uint64_t grown = static_cast<std::uint64_t>(base_ms_) << exponent;
    return static_cast<std::int64_t>(std::min<std::uint64_t>(grown, max_ms_));
}

std::int64_t BackoffPolicy::delay_ms(std::uint32_t failures, double u) const {
    if (!(u >= 0.0)) {  // also catches NaN
        u = 0.0;
    }
    if (u >= 1.0) {
        u = std::nextafter(1.0, 0.0);
    }
    const auto ceiling = static_cast<double>(ceiling_ms(failures));
    return static_cast<std::int64_t>(std::floor(u * ceiling));
}

std::int64_t BackoffPolicy::next_delay_ms(std::uint32_t failures) {
    return delay_ms(failures, draw());
}

double BackoffPolicy::draw() {
    if (uniform_) {
        return uniform_();
    }
    return std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
}

}  // namespace lsr::core
