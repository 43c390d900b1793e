#pragma once

#include <string>
#include <vector>

namespace lsr::app {

// serve [--config FILE]: runs the relay until SIGTERM/SIGINT. Without a file, on the
// embedded defaults (127.0.0.1:8080, spool under ./var) plus environment overrides.
int run_serve(const std::vector<std::string>& args);

}  // namespace lsr::app
