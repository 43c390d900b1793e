// The set of open client sessions of one listener: a drain closes the idle ones and waits for
// the rest; the acceptor counts them, per client address too, and looks at what each is doing
// when it must shed one (see ConnectionBudget).
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "server/http/connection_budget.hpp"
#include "server/http/connection_status.hpp"

namespace lsr::server {

class HttpSession;

class SessionRegistry {
  public:
    void add(HttpSession* s, std::weak_ptr<HttpSession> w, const std::string& remote,
             const ConnectionStatus* status) {
        std::lock_guard lock(mutex_);
        sessions_[s] = Entry{std::move(w), remote, status};
        ++per_client_[remote];
    }
    void remove(HttpSession* s) {
        std::lock_guard lock(mutex_);
        const auto it = sessions_.find(s);
        if (it == sessions_.end()) return;
        const auto c = per_client_.find(it->second.remote);
        if (c != per_client_.end() && --c->second == 0) per_client_.erase(c);
        sessions_.erase(it);
    }
    std::size_t size() const {
        std::lock_guard lock(mutex_);
        return sessions_.size();
    }
    std::size_t from_client(const std::string& remote) const {
        std::lock_guard lock(mutex_);
        const auto it = per_client_.find(remote);
        return it == per_client_.end() ? 0 : it->second;
    }
    // What every session is doing; those already chosen for shedding are left out. The views'
    // remote strings live in `keep`, which the caller holds while it uses them.
    std::vector<ConnView> snapshot(std::vector<std::string>& keep) const {
        std::vector<ConnView> out;
        std::lock_guard lock(mutex_);
        keep.clear();
        keep.reserve(sessions_.size());
        out.reserve(sessions_.size());
        for (const auto& [p, e] : sessions_) {
            if (e.status->shed_pending.load()) continue;
            keep.push_back(e.remote);
            const auto since = std::chrono::steady_clock::time_point(
                std::chrono::steady_clock::duration(e.status->since_ns.load(std::memory_order_relaxed)));
            out.push_back(ConnView{p, keep.back(), e.status->state.load(std::memory_order_acquire), since});
        }
        return out;
    }
    std::shared_ptr<HttpSession> lock(const void* id) const {
        std::lock_guard lock(mutex_);
        const auto it = sessions_.find(static_cast<HttpSession*>(const_cast<void*>(id)));
        return it == sessions_.end() ? nullptr : it->second.session.lock();
    }
    template <class F>
    void for_each(F&& f) {
        std::vector<std::shared_ptr<HttpSession>> alive;
        {
            std::lock_guard lock(mutex_);
            for (auto& [p, e] : sessions_)
                if (auto s = e.session.lock()) alive.push_back(std::move(s));
        }
        for (auto& s : alive) f(s);
    }

  private:
    struct Entry {
        std::weak_ptr<HttpSession> session;
        std::string remote;
        const ConnectionStatus* status;
    };
    mutable std::mutex mutex_;
    std::unordered_map<HttpSession*, Entry> sessions_;
    std::unordered_map<std::string, std::size_t> per_client_;
};

}  // namespace lsr::server
