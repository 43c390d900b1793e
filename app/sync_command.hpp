// `looker-segment-relay sync list [--json]` and `sync reset ID` (with --config FILE or
// --spool PATH; neither: the spool serve uses without --config): cohort sync's baselines in a
// spool (one per Looker instance, schedule, action or webhook route, and write key) and how to
// make a schedule's next run a first run. Write keys are shown only by a prefix. Works beside
// a running relay (the spool is opened without its lock, never created).
#pragma once

#include <string>
#include <vector>

namespace lsr::app {

// `args` are the words after "sync". Exit codes: 0 ok, 1 error (no such baseline, no spool), 2 usage.
int run_sync(const std::vector<std::string>& args);

}  // namespace lsr::app
