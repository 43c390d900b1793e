#include "server/storage/spool_probe.hpp"

namespace lsr::server {

SpoolProbe::SpoolProbe(Spool& spool, std::chrono::milliseconds interval)
    : spool_(spool), interval_(interval), look_(take()), thread_([this] { run(); }) {}

SpoolProbe::~SpoolProbe() {
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
    }
    wake_.notify_all();
    thread_.join();
}

SpoolProbe::Look SpoolProbe::take() const {
    Look look;
    look.writable = spool_.writable();
    look.stats = spool_.stats();
    return look;
}

SpoolProbe::Look SpoolProbe::latest() const {
    std::lock_guard lock(mutex_);
    return look_;
}

void SpoolProbe::run() {
    std::unique_lock lock(mutex_);
    while (!wake_.wait_for(lock, interval_, [this] { return stop_; })) {
        lock.unlock();
        Look fresh = take();
        lock.lock();
        look_ = std::move(fresh);
    }
}

}  // namespace lsr::server
