// The set of open client sessions, so a drain can close the idle ones and wait for the rest.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <unordered_map>

namespace lsr::server {

class HttpSession;

class SessionRegistry {
  public:
    void add(HttpSession* s, std::weak_ptr<HttpSession> w) {
        std::lock_guard lock(mutex_);
        sessions_[s] = std::move(w);
    }
    void remove(HttpSession* s) {
        std::lock_guard lock(mutex_);
        sessions_.erase(s);
    }
    std::size_t size() const {
        std::lock_guard lock(mutex_);
        return sessions_.size();
    }
    template <class F>
    void for_each(F&& f) {
        std::vector<std::shared_ptr<HttpSession>> alive;
        {
            std::lock_guard lock(mutex_);
            for (auto& [p, w] : sessions_)
                if (auto s = w.lock()) alive.push_back(std::move(s));
        }
        for (auto& s : alive) f(s);
    }

  private:
    mutable std::mutex mutex_;
    std::unordered_map<HttpSession*, std::weak_ptr<HttpSession>> sessions_;
};

}  // namespace lsr::server
