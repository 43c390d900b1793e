#include "server/service/sync_housekeeper.hpp"

#include <exception>

#include "server/net/logger.hpp"
#include "server/storage/sync_store.hpp"

namespace lsr::server {

namespace {

constexpr std::int64_t kDayMs = 86'400'000;

}  // namespace

SyncHousekeeper::SyncHousekeeper(Spool& spool, const config::SyncConfig& sync, const config::RunsConfig& runs,
                                 Logger& log, const core::Clock& clock)
    : spool_(spool),
      forget_after_days_(sync.forget_after_days),
      keep_days_(runs.keep_days),
      log_(log),
      clock_(clock) {}

SyncHousekeeper::~SyncHousekeeper() {
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
}

void SyncHousekeeper::start(std::chrono::milliseconds interval) {
    if (thread_.joinable()) return;
    thread_ = std::thread([this, interval] { run(interval); });
}

void SyncHousekeeper::run(std::chrono::milliseconds interval) {
    std::unique_lock lock(mutex_);
    while (!stop_) {
        lock.unlock();
        try {
            sweep();
        } catch (const std::exception& e) {  // never out of the thread: the next sweep tries again
            log_.error("sync housekeeping failed", {{"error", e.what()}});
        }
        lock.lock();
        wake_.wait_for(lock, interval, [this] { return stop_; });
    }
}

SyncHousekeeper::Swept SyncHousekeeper::sweep() {
    Swept swept;
    SyncStore store(spool_);
    const std::int64_t now = clock_.unix_ms();
    if (forget_after_days_ > 0) {
        const std::int64_t days = forget_after_days_;
        if (const auto err = store.forget_baselines(now - days * kDayMs, &swept.baselines)) {
            log_.warn("sync: cannot forget old baselines",
                      {{"error", err.message()}, {"detail", err.detail()}});
        } else if (swept.baselines > 0) {
            log_.info(
                "sync: baselines of schedules without a run forgotten",
                {{"baselines", static_cast<std::int64_t>(swept.baselines)}, {"forget_after_days", days}});
        }
    }
    if (keep_days_ > 0) {
        const std::int64_t days = keep_days_;
        if (const auto err = store.prune_runs(now - days * kDayMs, &swept.runs)) {
            log_.warn("runs: cannot prune the run history",
                      {{"error", err.message()}, {"detail", err.detail()}});
        } else if (swept.runs > 0) {
            log_.info("runs: old runs pruned from the history",
                      {{"runs", static_cast<std::int64_t>(swept.runs)}, {"keep_days", days}});
        }
    }
    return swept;
}

}  // namespace lsr::server
