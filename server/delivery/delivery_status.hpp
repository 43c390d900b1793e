// The delivery part of /status (DeliveryDispatcher::status_json documents its shape):
// rendered (core::JsonOut) on the dispatcher's strand after each poll and settle, read from
// any thread.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace lsr::core {
class WriteKeyQueue;
}  // namespace lsr::core

namespace lsr::server {

struct SpoolStats;

class DeliveryStatus {
  public:
    struct Overview {
        bool stopping = false;
        std::uint32_t in_flight = 0;
        std::string_view endpoint;
        const SpoolStats* spool = nullptr;
        std::int64_t now_ms = 0;  // wall
    };

    // Renders the document from the overview and the write keys' queues, and publishes it.
    void publish(const Overview& overview, const std::vector<const core::WriteKeyQueue*>& keys);
    std::string json();

  private:
    std::mutex mu_;
    std::string cache_ = "{\"stopping\":false,\"in_flight\":0,\"write_keys\":[]}";
};

}  // namespace lsr::server
