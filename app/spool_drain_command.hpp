// `looker-segment-relay spool drain [--config FILE] [--timeout S]`: delivers everything
// queued in the configured spool with serve's delivery (server::SpoolDrainer), accepts
// nothing, and reports its progress on stderr:
//   spool drain: PATH: B batches (E events) queued, D dead letters
//   spool drain: B batches (E events) left, N events delivered, M events dead-lettered, Ts elapsed
// (every 5 s), and at the end one of
//   spool drain: done in Ts: the queue is empty; N events delivered, M events dead-lettered
//   spool drain: stopped by SIGTERM|SIGINT|--timeout S before the queue was empty: B batches
//                (E events) left, N events delivered, M events dead-lettered, Ts elapsed
//   spool drain: cannot open the spool PATH: WHY
// then the dead letters that remain, pointing at `spool dead-letters` and `spool replay`.
// Exit codes: 0 the queue is empty (dead letters may remain), 1 the spool (or the delivery
// set-up) cannot be opened, e.g. a relay holds its lock, 3 stopped by SIGTERM/SIGINT before
// the queue was empty, 4 stopped by --timeout before the queue was empty.
#pragma once

#include "app/spool_command_line.hpp"

namespace lsr::app {

int run_spool_drain(const SpoolCommandLine& o);

}  // namespace lsr::app
