// What one write key may ask of Segment: its request rate (a token bucket) and its requests
// in flight. Config embeds these (config::SegmentConfig::per_write_key); WriteKeyQueue
// reads them.
#pragma once

#include <cstdint>

namespace lsr::core {

struct WriteKeyLimits {
    double requests_per_second = 50;  // <= 0: unlimited
    double burst = 20;
    std::uint32_t max_in_flight = 4;
};

}  // namespace lsr::core
