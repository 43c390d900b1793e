// How long and how often a batch Segment did not take is tried again. Config embeds
// these (config::SegmentConfig::retry); SettleDecision reads them.
#pragma once

#include <cstdint>

namespace lsr::core {

struct RetrySettings {
    std::uint32_t base_delay_ms = 500;
    std::uint32_t max_delay_ms = 60'000;
    std::uint32_t retry_after_cap_ms = 300'000;
    std::uint32_t give_up_after_s = 12 * 3600;  // age of a batch before it is dead-lettered
};

}  // namespace lsr::core
