// `spool salvage --from OLD [--to NEW]`: copies every readable batch and dead letter of a
// damaged spool file into a working spool (created if need be); OLD is only read.
#pragma once

#include "app/spool_command_line.hpp"

namespace lsr::app {

int run_spool_salvage(const SpoolCommandLine& o);

}  // namespace lsr::app
