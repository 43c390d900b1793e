// The guard against a broken query: a run that would empty or mostly empty a schedule's
// baseline is refused (nothing sent, nothing changed) unless the admin allows it for one run.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace lsr::core {

struct SyncGuardInput {
    std::uint64_t baseline_members = 0;
    std::uint64_t would_leave = 0;  // baseline members not in this result
    std::uint64_t accepted_rows = 0;
    double max_exit_fraction = 0.5;  // sync.max_exit_fraction
    bool allow_mass_exit = false;
    bool resync = false;
};

class SyncGuard {
  public:
    // The message for the Looker admin when the run is refused: the baseline is not empty and
    // the result has no rows, or more than max_exit_fraction of the members would leave
    // (exactly the fraction is allowed); never with allow_mass_exit or resync.
    static std::optional<std::string> refuse(const SyncGuardInput& in);
    // 0.6 -> "60%", 0.125 -> "12.5%": as few decimals as show the value (at most 2).
    static std::string percent(double fraction);
};

}  // namespace lsr::core
