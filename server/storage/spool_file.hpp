// The spool's files before and around SQLite: the parent directory, a look at the file before
// SQLite touches it (so that a file that is not a database is never changed), owner-only
// permissions, and the operator's text for a file the relay will not start on.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "server/storage/spool_open_failure.hpp"

namespace lsr::server {

class SpoolFile {
  public:
    // Creates the parent directories of `path` (owner-only).
    static std::optional<SpoolOpenFailure> create_parent(const std::string& path);
    // Refuses what is not a spool file; *is_new when there is nothing to keep (missing, which
    // only `create` allows, or empty). `now_ms` stamps the name suggested for moving it aside.
    static std::optional<SpoolOpenFailure> precheck(const std::string& path, bool create, std::int64_t now_ms,
                                                    bool* is_new);
    // Owner-only permissions on the database and its -wal and -shm files.
    static std::optional<SpoolOpenFailure> restrict_permissions(const std::string& path);
    // "spool <path> is not a usable spool database: <detail>. ... Way out: mv ..." with the
    // aside name <path>.corrupt-<UTC time of now_ms>.
    static std::string corrupt_message(const std::string& path, const std::string& detail,
                                       std::int64_t now_ms);
};

}  // namespace lsr::server
