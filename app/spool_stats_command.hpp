// `spool stats` and `spool dead-letters`: read-only snapshots of a spool, for people (a small
// table) or scripts (--json). Write keys are never printed in full. Ages are taken on `clock`.
#pragma once

#include "app/spool_command_line.hpp"
#include "core/clock.hpp"

namespace lsr::server {
class Spool;
}

namespace lsr::app {

int run_spool_stats(server::Spool& spool, const SpoolCommandLine& o, const core::Clock& clock);
int run_spool_dead_letters(server::Spool& spool, const SpoolCommandLine& o, const core::Clock& clock);

}  // namespace lsr::app
