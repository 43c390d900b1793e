// `spool replay (--all | ID...)`: moves dead letters back into the queue, due now; all or
// nothing (an unknown id replays none and is named).
#pragma once

#include "app/spool_command_line.hpp"

namespace lsr::server {
class Spool;
}

namespace lsr::app {

int run_spool_replay(server::Spool& spool, const SpoolCommandLine& o);

}  // namespace lsr::app
