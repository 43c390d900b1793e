// Looks at the spool off the I/O threads: a thread of its own refreshes writability and the
// queue figures every `interval`, and /readyz reads the latest look. A readiness probe thus
// never waits behind an append's fsync or an operator tool's write lock.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "server/storage/spool.hpp"

namespace lsr::server {

class SpoolProbe {
  public:
    struct Look {
        bool writable = false;
        SpoolStats stats;
    };

    SpoolProbe(Spool& spool, std::chrono::milliseconds interval);  // takes the first look at once
    ~SpoolProbe();
    SpoolProbe(const SpoolProbe&) = delete;
    SpoolProbe& operator=(const SpoolProbe&) = delete;

    Look latest() const;

  private:
    void run();
    Look take() const;

    Spool& spool_;
    const std::chrono::milliseconds interval_;
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    bool stop_ = false;
    Look look_;
    std::thread thread_;
};

}  // namespace lsr::server
