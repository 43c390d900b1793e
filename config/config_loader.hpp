// Loads the configuration: embedded defaults, then the YAML file, then environment
// overrides for secrets, then validation. Every problem is collected, with file and line.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"

namespace lsr::config {

struct ConfigProblem {
    std::string file;
    int line = 0;  // 1-based; 0 when not tied to a line (environment, defaults)
    std::string message;
    std::string to_string() const;       // "file:line: message"
    std::string warning_string() const;  // "file:line: warning: message"
};

struct LoadResult {
    Config config;
    std::vector<ConfigProblem> problems;
    // Nothing wrong for the relay itself, but something its users will trip on (a
    // hub.base_url Looker cannot reach); printed by check-config, never fatal.
    std::vector<ConfigProblem> warnings;
    bool ok() const { return problems.empty(); }
};

class ConfigLoader {
  public:
    static LoadResult load_file(const std::string& path);
    static LoadResult load_string(std::string_view yaml, const std::string& source_name);
    static LoadResult defaults();  // embedded defaults + environment overrides, validated
};

}  // namespace lsr::config
