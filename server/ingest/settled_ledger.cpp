#include "server/ingest/settled_ledger.hpp"

namespace lsr::server {

void SettledLedger::open(const std::string& request_id) {
    std::lock_guard lock(mutex_);
    entries_[request_id];
}

void SettledLedger::close(const std::string& request_id) {
    std::function<void()> dropped;  // destroyed outside the lock: it may hold the last job
    std::lock_guard lock(mutex_);
    auto it = entries_.find(request_id);
    if (it == entries_.end()) return;
    dropped = std::move(it->second.on_change);
    entries_.erase(it);
}

void SettledLedger::watch(const std::string& request_id, std::function<void()> on_change) {
    std::function<void()> dropped;
    std::lock_guard lock(mutex_);
    auto it = entries_.find(request_id);
    if (it == entries_.end()) return;
    dropped = std::move(it->second.on_change);
    it->second.on_change = std::move(on_change);
}

core::SettledEvents SettledLedger::count(const std::string& request_id) const {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(request_id);
    return it == entries_.end() ? core::SettledEvents{} : it->second.settled;
}

void SettledLedger::record(const std::string& request_id, std::uint64_t events, bool delivered) {
    std::function<void()> notify;
    {
        std::lock_guard lock(mutex_);
        auto it = entries_.find(request_id);
        if (it == entries_.end()) return;
        (delivered ? it->second.settled.delivered : it->second.settled.dead) += events;
        notify = it->second.on_change;
    }
    if (notify) notify();
}

}  // namespace lsr::server
