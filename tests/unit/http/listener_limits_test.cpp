#include "server/http/listener_limits.hpp"

#include <catch2/catch.hpp>

#include "config/config.hpp"

// The service fills ListenerLimits in from server.limits; a listener made without it behaves
// as an unconfigured relay does.
TEST_CASE("ListenerLimits: the defaults are the configuration's", "[listener_limits]") {
    const lsr::server::ListenerLimits http;
    const lsr::config::ListenerLimits cfg;
    CHECK(http.max_header_bytes == cfg.max_header_bytes);
    CHECK(http.max_body_bytes == cfg.max_body_bytes);
    CHECK(http.max_small_body_bytes == cfg.max_small_body_bytes);
    CHECK(http.read_header_timeout_ms == cfg.read_header_timeout_ms);
    CHECK(http.read_body_timeout_ms == cfg.read_body_timeout_ms);
    CHECK(http.idle_timeout_ms == cfg.idle_timeout_ms);
    CHECK(http.max_connections == cfg.max_connections);
    CHECK(http.min_receive_bytes_per_s == cfg.min_receive_bytes_per_s);
    CHECK(http.receive_window_ms == cfg.receive_window_ms);
    CHECK(http.max_connections_per_client == cfg.max_connections_per_client);
    CHECK(http.shed_above_percent == cfg.shed_above_percent);
    static_assert(sizeof(lsr::server::ListenerLimits) == sizeof(lsr::config::ListenerLimits),
                  "a field was added to one and not the other");
}
