// `looker-segment-relay preview`: shows the events a payload would become and sends nothing.
#pragma once

#include <string>
#include <vector>

namespace lsr::app {

// args: what follows the word "preview". Returns the process exit code:
// 0 success, 1 fatal error (message on stderr), 2 usage.
int run_preview(const std::vector<std::string>& args);

}  // namespace lsr::app
