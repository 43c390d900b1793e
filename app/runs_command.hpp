// `looker-segment-relay runs [--config FILE | --spool PATH] [--json] [--limit N] [--before ID] [ID]`
// (neither --config nor --spool: the spool serve uses without --config):
// the run history of a spool, newest first (a table, or with --json the JSON of GET /runs),
// or one run in full (with --json the JSON of GET /runs/{id}). Read-only; works beside a
// running relay (the spool is opened without its lock, never created).
#pragma once

#include <string>
#include <vector>

namespace lsr::app {

// `args` are the words after "runs". Exit codes: 0 ok, 1 error (no such run, no spool), 2 usage.
int run_runs(const std::vector<std::string>& args);

}  // namespace lsr::app
