// Who sent an execute and what it asks for: an Action API action or a plain webhook route.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "core/mapping/call_type.hpp"
#include "core/mapping/mapping_settings.hpp"

namespace lsr::server {

struct ExecuteSource {
    std::string label;  // metrics and logs: the action name, or "webhook:<name>"
    core::CallType call = core::CallType::identify;
    bool webhook = false;                           // plain webhook: no type/param checks
    std::string write_key;                          // webhook: from the route
    std::string event;                              // webhook track: from the route
    std::optional<core::IdentityColumns> identity;  // webhook: from the route
    // webhook: the route's sync keys, as an execute's form_params would carry them
    std::map<std::string, std::string> sync_params;
};

}  // namespace lsr::server
