#include "core/sync/sync_guard.hpp"

#include <cmath>
#include <cstdio>

#include "core/sync/sync_summary.hpp"

namespace lsr::core {
namespace {

constexpr const char* kHowTo =
    " Nothing was sent and the baseline is unchanged. If the result is right, run it once with "
    "allow_mass_exit set to yes in the action's form.";

}  // namespace

std::string SyncGuard::percent(double fraction) {
    const double p = fraction * 100;
    char buf[32];
    for (int decimals = 0; decimals <= 2; ++decimals) {
        const double scale = std::pow(10.0, decimals);
        if (std::fabs(std::round(p * scale) - p * scale) < 1e-9 || decimals == 2) {
            std::snprintf(buf, sizeof buf, "%.*f%%", decimals, p);
            break;
        }
    }
    return buf;
}

std::optional<std::string> SyncGuard::refuse(const SyncGuardInput& in) {
    if (in.baseline_members == 0 || in.allow_mass_exit || in.resync) return std::nullopt;
    const std::string members = SyncSummary::group_thousands(in.baseline_members);
    if (in.accepted_rows == 0) {
        return "Refused: the result has no rows while the baseline has " + members +
               (in.baseline_members == 1 ? " member" : " members") +
               ", so this run would remove all of them (a broken query or filter?)." + kHowTo;
    }
    // Exactly the fraction is allowed: a relative margin keeps 0.3 * 10 (2.9999999999999996 in
    // binary) from refusing 3 of 10.
    const double limit = in.max_exit_fraction * static_cast<double>(in.baseline_members) * (1 + 1e-12);
    if (static_cast<double>(in.would_leave) <= limit) return std::nullopt;
    const double fraction = static_cast<double>(in.would_leave) / static_cast<double>(in.baseline_members);
    const std::string threshold = percent(in.max_exit_fraction);
    // When two decimals cannot show the difference: "over 50%".
    const bool hidden = std::round(fraction * 10000) <= std::round(in.max_exit_fraction * 10000);
    const std::string share = hidden ? "over " + threshold : percent(fraction);
    return "Refused: this run would remove " + SyncSummary::group_thousands(in.would_leave) +
           " of the audience's " + members + " members (" + share + "), more than sync.max_exit_fraction (" +
           threshold + ")." + kHowTo;
}

}  // namespace lsr::core
