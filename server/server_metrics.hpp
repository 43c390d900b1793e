// HTTP-side metrics: requests by route and status code, latency by route, open connections.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <chrono>
#include <string>

namespace lsr::server {

class ServerMetrics {
  public:
    explicit ServerMetrics(prometheus::Registry& registry);

    void request_done(const std::string& route, const std::string& method, unsigned status,
                      std::chrono::steady_clock::duration took);
    void connection_opened() { open_connections_.Increment(); }
    void connection_closed() { open_connections_.Decrement(); }
    void connection_refused() { refused_connections_.Increment(); }

  private:
    prometheus::Family<prometheus::Counter>& requests_;
    prometheus::Family<prometheus::Histogram>& latency_;
    prometheus::Gauge& open_connections_;
    prometheus::Counter& refused_connections_;
};

}  // namespace lsr::server
