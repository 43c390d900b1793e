#include "core/mapping/mapping_summary.hpp"

#include "core/mapping/destination_table.hpp"

namespace lsr::core {

std::string MappingSummary::message(std::size_t max_reasons) const {
    return std::to_string(rows) + (rows == 1 ? " row: " : " rows: ") + std::to_string(accepted) +
           " accepted, " + std::to_string(rejected) + " rejected." + details(max_reasons);
}

std::string MappingSummary::details(std::size_t max_reasons) const {
    std::string out;
    if (rejected > 0 && max_reasons > 0 && !first_reasons.empty()) {
        out += " First rejections: ";
        for (std::size_t i = 0; i < first_reasons.size() && i < max_reasons; ++i) {
            if (i) out += "; ";
            out += first_reasons[i];
        }
        out += ".";
    }
    if (!not_ready_by_destination.empty()) {
        out += " Not ready:";
        bool first = true;
        for (const auto& [name, count] : not_ready_by_destination) {
            out += first ? " " : ", ";
            first = false;
            out += name + " " + std::to_string(count);
            if (const Destination* d = DestinationTable::builtin().find(name))
                out += " (needs " + d->requirement_text() + ")";
        }
        out += ".";
    }
    return out;
}

}  // namespace lsr::core
