#include "core/mapping/destination_readiness.hpp"

namespace lsr::core {

DestinationReadiness::DestinationReadiness(const std::vector<std::string>& names, bool disable_unready,
                                           const DestinationTable& table)
    : disable_unready_(disable_unready) {
    for (const std::string& name : names) {
        if (const Destination* d = table.find(name)) {
            destinations_.push_back(d);
        } else {
            unknown_.push_back(name);
        }
    }
}

void DestinationReadiness::evaluate(const EventFacts& facts, std::vector<const Destination*>& unready) const {
    unready.clear();
    for (const Destination* d : destinations_)
        if (!d->ready(facts)) unready.push_back(d);
}

void DestinationReadiness::append_integrations(JsonOut& out,
                                               const std::vector<const Destination*>& unready) const {
    if (!disable_unready_ || unready.empty()) return;
    out.raw(",\"integrations\":{");
    bool first = true;
    for (const Destination* d : unready) {
        if (!first) out.raw(',');
        first = false;
        out.key(d->integration_name);
        out.raw("false");
    }
    out.raw('}');
}

}  // namespace lsr::core
