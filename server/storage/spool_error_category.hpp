// The spool's error codes (SpoolErrc) and their category: what every Spool call returns in
// its std::error_code. The SQLite detail of a failed call travels beside it in a SpoolError.
#pragma once

#include <string>
#include <system_error>

namespace lsr::server {

enum class SpoolErrc {
    ok = 0,
    full = 1,       // append refused: max_bytes would be exceeded; nothing written
    io = 2,         // SQLite/disk error; SpoolError::detail() says which statement and why
    corrupt = 3,    // open: file is not a valid spool database
    not_found = 4,  // id unknown
    locked = 5,     // open: another relay process holds the spool's lock (exclusive open)
    low_space = 6,  // append refused: the filesystem's free space is below spool.min_free_bytes
    conflict = 7,   // SyncStore::commit_run: the baseline changed since the run read it
};

class SpoolErrorCategory final : public std::error_category {
  public:
    const char* name() const noexcept override { return "spool"; }
    std::string message(int value) const override;
};

const std::error_category& spool_category();
std::error_code make_error_code(SpoolErrc);

}  // namespace lsr::server

template <>
struct std::is_error_code_enum<lsr::server::SpoolErrc> : std::true_type {};
