// The exclusive lock a serving relay holds on "<spool>.lock" (flock, created 0600, never
// removed): two relays never serve the same spool. Per process: Spool objects of one process
// on the same path share one lock (flock would otherwise refuse a second open file
// description of the same process); the file is closed when the last of them goes, and the
// kernel releases the lock when the process ends, SIGKILL included.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <utility>

#include "server/storage/spool_error_category.hpp"

namespace lsr::server {

// One reference to a held lock; released (and the file closed when unused) on destruction.
class SpoolLock {
  public:
    // Takes the lock on `lock_path` or explains why not in *message (SpoolErrc::locked when
    // another process holds it, naming its pid; io otherwise). `spool_path` only names the
    // spool in texts.
    static std::unique_ptr<SpoolLock> acquire(const std::string& spool_path, const std::string& lock_path,
                                              SpoolErrc* errc, std::string* message);
    ~SpoolLock();
    // Whether this took the lock (true), or shares one this process already held (false:
    // another Spool of this process serves the file).
    bool first() const { return first_; }
    SpoolLock(const SpoolLock&) = delete;
    SpoolLock& operator=(const SpoolLock&) = delete;

  private:
    using Key = std::pair<dev_t, ino_t>;  // the lock file's device and inode
    SpoolLock(Key key, bool first) : key_(key), first_(first) {}
    Key key_;
    bool first_;
};

}  // namespace lsr::server
