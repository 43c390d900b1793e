#include "server/server_metrics.hpp"

namespace lsr::server {

ServerMetrics::ServerMetrics(prometheus::Registry& registry)
    : requests_(prometheus::BuildCounter()
                    .Name("lsr_http_requests_total")
                    .Help("HTTP requests answered, by route, method and status code")
                    .Register(registry)),
      latency_(prometheus::BuildHistogram()
                   .Name("lsr_http_request_duration_seconds")
                   .Help("Time from the end of the request headers to the end of the answer")
                   .Register(registry)),
      open_connections_(prometheus::BuildGauge()
                            .Name("lsr_http_open_connections")
                            .Help("Client connections currently open")
                            .Register(registry)
                            .Add({})),
      refused_connections_(prometheus::BuildCounter()
                               .Name("lsr_http_refused_connections_total")
                               .Help("Connections refused because server.limits.max_connections was reached")
                               .Register(registry)
                               .Add({})) {}

void ServerMetrics::request_done(const std::string& route, const std::string& method, unsigned status,
                                 std::chrono::steady_clock::duration took) {
    requests_.Add({{"route", route}, {"method", method}, {"code", std::to_string(status)}}).Increment();
    static const prometheus::Histogram::BucketBoundaries buckets = {0.001, 0.005, 0.01, 0.05, 0.1, 0.5,
                                                                    1,     5,     10,   30,   60,  300};
    latency_.Add({{"route", route}}, buckets).Observe(std::chrono::duration<double>(took).count());
}

}  // namespace lsr::server
