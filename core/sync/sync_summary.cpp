#include "core/sync/sync_summary.hpp"

namespace lsr::core {
namespace {

std::string counted(std::uint64_t n, const char* one, const char* many) {
    return SyncSummary::group_thousands(n) + " " + (n == 1 ? one : many);
}

}  // namespace

std::string SyncSummary::group_thousands(std::uint64_t n) {
    const std::string digits = std::to_string(n);
    std::string out;
    out.reserve(digits.size() + digits.size() / 3);
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
        out.push_back(digits[i]);
    }
    return out;
}

std::string SyncSummary::text(SyncMode mode, const SyncCounts& c) {
    return text(mode, c, false);
}

std::string SyncSummary::text(SyncMode mode, const SyncCounts& c, bool resync) {
    std::string out = counted(c.rows, "row", "rows");
    if (resync) out += " (resync: every row sent)";
    if (mode != SyncMode::all) {
        out += ": " + group_thousands(c.changed) + " changed, " + group_thousands(c.added) + " new, " +
               group_thousands(c.unchanged) + " unchanged";
        if (!resync)
            out += ", " + group_thousands(c.removed) + (mode == SyncMode::audience ? " left" : " removed");
        if (c.duplicates > 0) out += ", " + counted(c.duplicates, "duplicate", "duplicates") + " left out";
    }
    out += "; " + counted(c.events, "event", "events") + " queued.";
    return out;
}

}  // namespace lsr::core
