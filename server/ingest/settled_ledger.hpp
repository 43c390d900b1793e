// What Segment settled of each waiting execute's events (`ack: delivered`). The delivery
// side reports every settled batch through record() (wired in server/service); an execute
// opens its entry before its first batch is spooled, reads its count and is told of changes.
// Thread-safe; callbacks run on the recording thread, with no lock held.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>

#include "core/hub/execute_report.hpp"

namespace lsr::server {

class SettledLedger {
  public:
    void open(const std::string& request_id);
    void close(const std::string& request_id);  // forgets the count and the callback
    // Called after each record() for this request until close() or watch(nullptr).
    void watch(const std::string& request_id, std::function<void()> on_change);
    core::SettledEvents count(const std::string& request_id) const;

    // A batch of `request_id` with `events` events settled: delivered, or dead-lettered.
    void record(const std::string& request_id, std::uint64_t events, bool delivered);

  private:
    struct Entry {
        core::SettledEvents settled;
        std::function<void()> on_change;
    };
    mutable std::mutex mutex_;
    std::map<std::string, Entry> entries_;
};

}  // namespace lsr::server
