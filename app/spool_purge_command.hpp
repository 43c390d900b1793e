// `spool purge (--dead-letters | --batches) --yes-really`: deletes every dead letter, or every
// queued batch, for good; without --yes-really it says what it would delete and refuses.
#pragma once

#include "app/spool_command_line.hpp"

namespace lsr::server {
class Spool;
}

namespace lsr::app {

int run_spool_purge(server::Spool& spool, const SpoolCommandLine& o);

}  // namespace lsr::app
