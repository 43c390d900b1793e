// How rows become events, as chosen by the operator: the mapping mode, how traits are
// named, and which columns carry the identities when the fields carry no tags. Config
// embeds these (config::Config::mapping); the mappers read them.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace lsr::core {

enum class MappingMode { standard, hub };
enum class TraitNaming { short_name, label };  // users.sessions_count -> sessions_count | "sessions count"

struct IdentityColumns {  // for formats without tags (csv, txt, json) and plain webhooks
    std::string user_id;
    std::string anonymous_id;
    std::string email;
    std::string group_id;
};

struct MappingSettings {
    MappingMode mode = MappingMode::standard;
    TraitNaming trait_naming = TraitNaming::short_name;
    std::map<std::string, std::string> rename;  // field name -> trait key
    bool send_nulls = false;
    std::vector<std::string> destinations;      // destination readiness checks
    bool disable_unready_destinations = false;  // integrations: {"X": false}
    IdentityColumns identity;                   // fallback when fields carry no tags
    std::uint32_t max_reasons_reported = 5;
};

}  // namespace lsr::core
