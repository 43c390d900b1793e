// The sentence a sync run answers Looker with, and the counts it is made of.
#pragma once

#include <cstdint>
#include <string>

#include "core/sync/sync_request.hpp"

namespace lsr::core {

struct SyncCounts {
    std::uint64_t rows = 0;        // rows that became events (accepted)
    std::uint64_t added = 0;       // new identities
    std::uint64_t changed = 0;     // members whose event content changed
    std::uint64_t unchanged = 0;   // members sent nothing
    std::uint64_t removed = 0;     // members not in this result (audience: they left)
    std::uint64_t duplicates = 0;  // rows left out: their identity came earlier in the result
    std::uint64_t events = 0;      // events queued
};

class SyncSummary {
  public:
    // "1,000,000 rows: 9,820 changed, 180 new, 990,000 unchanged, 95 left; 10,095 events queued."
    // changes mode says "removed" (nothing is sent for them); "all" gives rows and events only;
    // duplicates are named when there are any ("..., 3 duplicates left out; ...").
    static std::string text(SyncMode mode, const SyncCounts& c);
    // A resync run: "1,000 rows (resync: every row sent): ...", without the members that left
    // (a resync sends no exits).
    static std::string text(SyncMode mode, const SyncCounts& c, bool resync);
    // 1234567 -> "1,234,567".
    static std::string group_thousands(std::uint64_t n);
};

}  // namespace lsr::core
