// The seed's "Supported destinations" table (core/data/destinations.tsv, embedded in the
// library): which identifiers each Segment destination needs on an identify call, so the
// relay can count the rows a destination would drop and optionally switch that
// destination off for those events (integrations: {"<name>": false}).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lsr::core {

// What an event carries, as far as destinations care.
struct EventFacts {
    bool user_id = false;
    bool anonymous_id = false;
    bool email = false;     // a non-empty email trait (or property, on track)
    bool group_id = false;  // context.groupId, or groupId on a group call
    const std::vector<std::string_view>* trait_keys = nullptr;
};

struct Destination {
    std::string slug;              // as in the table: "zendesk", "braze (previously appboy)"
    std::string integration_name;  // key in an event's integrations object: "Zendesk"
    std::string email_column, user_id_column, either_column;  // "X", "X*" or empty
    std::string note;                                         // the table's special note
    std::string requires_text;                                // e.g. "email+trait:name"
    // All terms must hold; a term holds when one of its alternatives does.
    std::vector<std::vector<std::string>> requirements;

    bool ready(const EventFacts& facts) const;
    std::string requirement_text() const;  // "email and a name trait", for messages
};

class DestinationTable {
  public:
    static const DestinationTable& builtin();  // parsed from the embedded TSV
    static std::optional<DestinationTable> parse(std::string_view tsv, std::string* error = nullptr);

    // By slug, integration name or alias ("braze", "appboy"), case-insensitive.
    const Destination* find(std::string_view name) const;
    const std::vector<Destination>& all() const { return destinations_; }

  private:
    std::vector<Destination> destinations_;
};

}  // namespace lsr::core
