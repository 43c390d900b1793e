// HTTP-side metrics: requests by route and status code, latency by route; per listener
// ("main", "admin"): open connections, connections refused or shed by reason, clients closed
// for receiving too slowly.
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
    void connection_opened(const std::string& listener) { open_.Add({{"listener", listener}}).Increment(); }
    void connection_closed(const std::string& listener) { open_.Add({{"listener", listener}}).Decrement(); }
    // reason: max_connections | per_client
    void connection_refused(const std::string& listener, const std::string& reason) {
        refused_.Add({{"listener", listener}, {"reason", reason}}).Increment();
    }
    // reason: what the connection was doing (idle_keepalive, receiving_headers, ...)
    void connection_shed(const std::string& listener, const std::string& reason) {
        shed_.Add({{"listener", listener}, {"reason", reason}}).Increment();
    }
    // phase: headers | body; cause: min_rate | deadline
    void slow_client(const std::string& listener, const std::string& phase, const std::string& cause) {
        slow_.Add({{"listener", listener}, {"phase", phase}, {"cause", cause}}).Increment();
    }

  private:
    prometheus::Family<prometheus::Counter>& requests_;
    prometheus::Family<prometheus::Histogram>& latency_;
    prometheus::Family<prometheus::Gauge>& open_;
    prometheus::Family<prometheus::Counter>& refused_;
    prometheus::Family<prometheus::Counter>& shed_;
    prometheus::Family<prometheus::Counter>& slow_;
};

}  // namespace lsr::server
