#include "core/delivery/token_bucket.hpp"

#include <algorithm>
#include <cmath>

namespace lsr::core {

TokenBucket::TokenBucket(double rate_per_second, double burst, std::int64_t now_ms)
    : rate_(rate_per_second), burst_(std::max(burst, 1.0)), tokens_(std::max(burst, 1.0)), last_ms_(now_ms) {}

void TokenBucket::refill(std::int64_t now_ms) {
    if (now_ms <= last_ms_) {
        return;  // time never runs backwards for the bucket
    }
    const double elapsed_s = static_cast<double>(now_ms - last_ms_) / 1000.0;
    tokens_ = std::min(burst_, tokens_ + elapsed_s * rate_);
    last_ms_ = now_ms;
}

bool TokenBucket::try_take(std::int64_t now_ms, double n) {
    if (unlimited()) {
        return true;
    }
    refill(now_ms);
    // A tiny epsilon absorbs floating-point drift from many small refills.
    if (tokens_ + 1e-9 < n) {
        return false;
    }
    tokens_ = std::max(0.0, tokens_ - n);
    return true;
}

void TokenBucket::refund(double n) {
    if (unlimited()) {
        return;
    }
    tokens_ = std::min(burst_, tokens_ + std::max(0.0, n));
}

double TokenBucket::available(std::int64_t now_ms) {
    if (unlimited()) {
        return burst_;
    }
    refill(now_ms);
    return std::floor(tokens_ + 1e-9);
}

std::int64_t TokenBucket::ms_until(std::int64_t now_ms, double n) {
    if (unlimited()) {
        return 0;
    }
    refill(now_ms);
    const double want = std::min(n, burst_);
    if (tokens_ + 1e-9 >= want) {
        return 0;
    }
    const double missing = want - tokens_;
    return static_cast<std::int64_t>(std::ceil(missing / rate_ * 1000.0));
}

}  // namespace lsr::core
