// The `--config FILE` option every subcommand shares: loads and validates, printing each
// problem as file:line: message on stderr.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"

namespace lsr::app {

// Removes "--config FILE" (or "--config=FILE") from args. Returns the loaded config, or
// nullopt after printing the problems.
std::optional<config::Config> take_config(std::vector<std::string>& args);

}  // namespace lsr::app
