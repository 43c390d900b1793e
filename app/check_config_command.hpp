#pragma once

#include <string>
#include <vector>

namespace lsr::app {

// check-config FILE: lists every problem as file:line: message; exit 1 if any.
int run_check_config(const std::vector<std::string>& args);

}  // namespace lsr::app
