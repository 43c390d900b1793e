// Counts of one mapping run, for the answer to Looker, metrics and logs.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace lsr::core {

struct MappingSummary {
    std::uint64_t rows = 0;
    std::uint64_t accepted = 0;
    std::uint64_t rejected = 0;
    std::map<std::string, std::uint64_t> rejected_by_reason;
    std::vector<std::string> first_reasons;  // "row 3: <reason>", the first few
    std::map<std::string, std::uint64_t>
        not_ready_by_destination;       // accepted events a destination would drop
    std::vector<std::string> warnings;  // distinct, capped

    // "3 rows: 2 accepted, 1 rejected. First rejections: row 3: <reason>. Not ready: Zendesk 2 (needs
    // email and a name trait)." Empty parts are left out.
    std::string message(std::size_t max_reasons) const;
    // What message() says after its counts: " First rejections: …." and " Not ready: …." (or "").
    std::string details(std::size_t max_reasons) const;
};

}  // namespace lsr::core
