#include "core/delivery/key_health.hpp"

#include <algorithm>

namespace lsr::core {

KeyHealth::KeyHealth(std::uint32_t base_delay_ms, std::uint32_t max_delay_ms)
    : probe_backoff_(base_delay_ms, std::min(max_delay_ms, kProbeCeilingMs), [] { return 0.0; }) {}

void KeyHealth::on_failure(std::int64_t now_ms, std::uint64_t send_epoch, double jitter) {
    proven_ = true;
    if (!failing_) {
        failing_ = true;
        recovering_ = false;
        failures_ = 0;
        ++epoch_;  // requests sent from now on are probes
    } else if (send_epoch != epoch_) {
        return;  // sent before the streak began: the probe schedule stands
    }
    next_probe_ms_ = now_ms + probe_backoff_.delay_ms(failures_, jitter);
    if (failures_ < std::numeric_limits<std::uint32_t>::max()) {
        ++failures_;
    }
}

bool KeyHealth::on_success(std::uint64_t send_epoch) {
    if (!proven_) {
        proven_ = true;  // the first answer: whatever waits out an earlier backoff is due
        recovering_ = true;
        return true;
    }
    if (!failing_ || send_epoch != epoch_) {
        return false;
    }
    failing_ = false;
    recovering_ = true;
    failures_ = 0;
    next_probe_ms_ = 0;
    ++epoch_;
    return true;
}

std::uint32_t KeyHealth::slots(std::int64_t now_ms, std::uint32_t in_flight, std::uint32_t limit) const {
    if (failing_) {
        return in_flight == 0 && now_ms >= next_probe_ms_ ? 1 : 0;
    }
    return in_flight >= limit ? 0 : limit - in_flight;
}

std::int64_t KeyHealth::due_at(std::int64_t now_ms, std::int64_t earliest_ms, std::uint32_t in_flight) const {
    if (earliest_ms == kNever) {
        return kNever;
    }
    if (failing_) {
        return in_flight == 0 ? next_probe_ms_ : kNever;  // the probe's answer pumps again
    }
    if (recovering_) {
        return std::min(earliest_ms, now_ms);
    }
    if (!proven_ && earliest_ms > now_ms) {
        return in_flight == 0 ? now_ms : kNever;  // probe the waiting batches now
    }
    return earliest_ms;
}

std::int64_t KeyHealth::lease_horizon(std::int64_t now_ms, std::int64_t earliest_ms) const {
    if (recovering_) {
        return kNever;
    }
    if (failing_ || !proven_) {
        return std::max(now_ms, earliest_ms);  // the batch due soonest, whenever that is
    }
    return now_ms;
}

}  // namespace lsr::core
