// Copies what is still readable out of a damaged spool file into a working Spool: the way
// out that Spool::open names when it refuses a corrupt file. Reads the old file only
// (a WAL beside it is read from a private copy), skips what it cannot read, never loops.
#pragma once

#include <cstddef>
#include <string>

namespace lsr::server {

class Spool;

struct SalvageReport {
    std::size_t batches = 0;       // copied into the destination's queue
    std::size_t events = 0;        // in those batches
    std::size_t dead_letters = 0;  // copied into the destination's dead letters
    // Ids that could not be read: an upper bound, since after damage to a table's pages
    // the ids of rows deleted before count too.
    std::size_t unreadable = 0;
    bool complete = false;  // every table was read to its end without an error
    std::string error;      // why nothing (more) could be copied; "" when fine
    std::string notes;      // what was skipped, for the operator
};

class SpoolSalvage {
  public:
    // `from` must not be the destination's file. Batches come back due now with their
    // write key, events, request id and created_ms; dead letters keep every field.
    static SalvageReport run(const std::string& from, Spool& to);
};

}  // namespace lsr::server
