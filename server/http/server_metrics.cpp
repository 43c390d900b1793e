#include "server/http/server_metrics.hpp"

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
      open_(prometheus::BuildGauge()
                .Name("lsr_http_open_connections")
                .Help("Client connections currently open, by listener")
                .Register(registry)),
      refused_(prometheus::BuildCounter()
                   .Name("lsr_http_refused_connections_total")
                   .Help("Connections answered 503 at once, by listener and reason: max_connections (the "
                         "listener's cap, nothing to shed) or per_client (the address's cap, nothing of its "
                         "own to shed)")
                   .Register(registry)),
      shed_(prometheus::BuildCounter()
                .Name("lsr_http_shed_connections_total")
                .Help("Connections closed to make room for new ones near the caps, by listener and what "
                      "they were doing")
                .Register(registry)),
      slow_(prometheus::BuildCounter()
                .Name("lsr_http_slow_clients_total")
                .Help("Connections closed because a request's headers or body arrived below "
                      "server.limits.min_receive_bytes_per_s (cause min_rate) or past their total time "
                      "(cause deadline)")
                .Register(registry)) {
    for (const char* l : {"main", "admin"}) open_.Add({{"listener", l}});
}

void ServerMetrics::request_done(const std::string& route, const std::string& method, unsigned status,
                                 std::chrono::steady_clock::duration took) {
    requests_.Add({{"route", route}, {"method", method}, {"code", std::to_string(status)}}).Increment();
    static const prometheus::Histogram::BucketBoundaries buckets = {0.001, 0.005, 0.01, 0.05, 0.1, 0.5,
                                                                    1,     5,     10,   30,   60,  300};
    latency_.Add({{"route", route}}, buckets).Observe(std::chrono::duration<double>(took).count());
}

}  // namespace lsr::server
