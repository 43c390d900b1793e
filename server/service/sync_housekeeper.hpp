// Keeps cohort sync's state and the run history bounded: at start and then every `interval`
// (an hour in serve), on a thread of its own (never an io thread), drops the baselines of
// schedules without a run for sync.forget_after_days and the runs received more than
// runs.keep_days ago (0 days: never), and logs what it dropped.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <thread>

#include "config/config.hpp"
#include "core/clock.hpp"

namespace lsr::server {

class Logger;
class Spool;

class SyncHousekeeper {
  public:
    struct Swept {
        std::size_t baselines = 0;  // baselines forgotten
        std::size_t runs = 0;       // runs pruned
    };

    // `spool`, `log` and `clock` must outlive it.
    SyncHousekeeper(Spool& spool, const config::SyncConfig& sync, const config::RunsConfig& runs, Logger& log,
                    const core::Clock& clock);
    ~SyncHousekeeper();  // stops the thread (a sweep in progress ends first)
    SyncHousekeeper(const SyncHousekeeper&) = delete;
    SyncHousekeeper& operator=(const SyncHousekeeper&) = delete;

    // A sweep at once on the thread, then one every `interval`. Once.
    void start(std::chrono::milliseconds interval);
    // One sweep on the caller's thread, logged.
    Swept sweep();

  private:
    void run(std::chrono::milliseconds interval);

    Spool& spool_;
    const std::uint32_t forget_after_days_;
    const std::uint32_t keep_days_;
    Logger& log_;
    const core::Clock& clock_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stop_ = false;
    std::thread thread_;
};

}  // namespace lsr::server
