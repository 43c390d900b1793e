// Destination readiness for one run: the configured destinations, resolved against the
// seed's table once, then checked for every event.
#pragma once

#include <string>
#include <vector>

#include "core/json_out.hpp"
#include "core/mapping/destination_table.hpp"

namespace lsr::core {

class DestinationReadiness {
  public:
    DestinationReadiness(const std::vector<std::string>& names, bool disable_unready,
                         const DestinationTable& table = DestinationTable::builtin());

    bool empty() const { return destinations_.empty(); }
    bool disable_unready() const { return disable_unready_; }
    const std::vector<std::string>& unknown() const { return unknown_; }  // names not in the table

    void evaluate(const EventFacts& facts, std::vector<const Destination*>& unready) const;
    // ,"integrations":{"Zendesk":false,...} when switching off is configured and needed.
    void append_integrations(JsonOut& out, const std::vector<const Destination*>& unready) const;

  private:
    std::vector<const Destination*> destinations_;
    std::vector<std::string> unknown_;
    bool disable_unready_;
};

}  // namespace lsr::core
