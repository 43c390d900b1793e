// `looker-segment-relay spool ...`: the operator's tools for the durable spool - stats,
// dead letters (list, replay), purge (only with --yes-really), salvage of a damaged file, and
// drain (deliver everything queued, then exit).
#pragma once

#include <string>
#include <vector>

namespace lsr::app {

// `args` are the words after "spool". Exit codes: 0 ok, 1 error (message on stderr), 2 usage.
int run_spool(const std::vector<std::string>& args);

}  // namespace lsr::app
