#include "server/storage/spool_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>

namespace lsr::server {

namespace {

// The exclusive locks this process holds, by device and inode of the lock file.
struct HeldLock {
    int fd = -1;
    std::size_t users = 0;
};
using LockKey = std::pair<dev_t, ino_t>;

std::mutex& held_locks_mu() {
    static std::mutex mu;
    return mu;
}
std::map<LockKey, HeldLock>& held_locks() {
    static std::map<LockKey, HeldLock> locks;
    return locks;
}

// Up to 31 bytes of the lock file: the pid its holder wrote ("" when unknown).
std::string lock_holder(int fd) {
    char buf[32] = {};
    const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
    std::string pid;
    for (ssize_t i = 0; i < n && buf[i] >= '0' && buf[i] <= '9'; ++i) pid += buf[i];
    return pid;
}

}  // namespace

std::unique_ptr<SpoolLock> SpoolLock::acquire(const std::string& spool_path, const std::string& lock_path,
                                              SpoolErrc* errc, std::string* message) {
    // A few tries: another process may delete and recreate the file between our open and
    // our flock (it must not, but then we would hold the lock of an unlinked inode).
    for (int attempt = 0; attempt < 5; ++attempt) {
        const mode_t old_mask = ::umask(077);
        const int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        const int open_errno = errno;
        ::umask(old_mask);
        if (fd < 0) {
            *errc = SpoolErrc::io;
            *message = "cannot open the spool's lock file " + lock_path + ": " + std::strerror(open_errno);
            return nullptr;
        }
        struct stat st {};
        if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
            ::close(fd);
            *errc = SpoolErrc::io;
            *message = "the spool's lock file " + lock_path + " is not a regular file";
            return nullptr;
        }
        if ((st.st_mode & 077) != 0) ::fchmod(fd, 0600);
        const LockKey key{st.st_dev, st.st_ino};
        std::lock_guard guard(held_locks_mu());
        if (auto it = held_locks().find(key); it != held_locks().end()) {
            ::close(fd);  // ours is held through the registered descriptor
            ++it->second.users;
            return std::unique_ptr<SpoolLock>(new SpoolLock(key, false));
        }
        int rc;
        do {
            rc = ::flock(fd, LOCK_EX | LOCK_NB);
        } while (rc != 0 && errno == EINTR);
        if (rc != 0) {
            const int lock_errno = errno;
            const std::string pid = lock_holder(fd);
            ::close(fd);
            if (lock_errno == EWOULDBLOCK) {
                *errc = SpoolErrc::locked;
                *message = "spool " + spool_path + " is in use: another relay (" +
                           (pid.empty() ? std::string("pid unknown") : "pid " + pid) + ") holds its lock " +
                           lock_path +
                           ". Two relays must never serve the same spool: stop the other relay "
                           "first, or give this one its own spool.path. (The `spool` subcommands "
                           "work while a relay runs.)";
            } else {
                *errc = SpoolErrc::io;
                *message = "cannot lock the spool's lock file " + lock_path + ": " +
                           std::strerror(lock_errno) + " (the spool needs a filesystem with flock support)";
            }
            return nullptr;
        }
        struct stat now {};
        if (::stat(lock_path.c_str(), &now) != 0 || now.st_dev != st.st_dev || now.st_ino != st.st_ino) {
            ::close(fd);  // replaced under us: lock the file that is there now
            continue;
        }
        // For the message of a relay that finds the spool taken.
        const std::string pid = std::to_string(::getpid()) + "\n";
        if (::ftruncate(fd, 0) == 0) {
            [[maybe_unused]] const ssize_t written = ::pwrite(fd, pid.data(), pid.size(), 0);
        }
        held_locks().emplace(key, HeldLock{fd, 1});
        return std::unique_ptr<SpoolLock>(new SpoolLock(key, true));
    }
    *errc = SpoolErrc::io;
    *message = "the spool's lock file " + lock_path + " keeps being replaced; cannot lock it";
    return nullptr;
}

SpoolLock::~SpoolLock() {
    std::lock_guard guard(held_locks_mu());
    auto it = held_locks().find(key_);
    if (it == held_locks().end()) return;
    if (--it->second.users == 0) {
        ::close(it->second.fd);  // releases the flock
        held_locks().erase(it);
    }
}

}  // namespace lsr::server
