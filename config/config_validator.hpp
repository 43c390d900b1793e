// Cross-field checks on a loaded Config. Every problem is reported, pointing at the line of
// the key when the file had one.
#pragma once

#include <vector>

#include "config/config.hpp"
#include "config/config_loader.hpp"
#include "config/yaml_reader.hpp"

namespace lsr::config {

class ConfigValidator {
  public:
    static void validate(const Config& c, const KeyLocations& where, std::vector<ConfigProblem>& out);
    // What is valid but will not work for Looker: a hub.base_url (given, or followed from
    // server.listen when not set) that Looker cannot reach (local-only host, plain http).
    static void warn(const Config& c, const KeyLocations& where, std::vector<ConfigProblem>& out);
};

}  // namespace lsr::config
