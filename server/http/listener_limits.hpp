// What one listener lets a client hold: header and body sizes, receive deadlines and rates,
// connection caps. The service fills it in from its configuration (server.limits); the
// defaults are the configuration's.
#pragma once

#include <cstdint>

namespace lsr::server {

struct ListenerLimits {
    std::uint32_t max_header_bytes = 16 * 1024;
    std::uint64_t max_body_bytes = 1024ull * 1024 * 1024;  // routes that take a large body
    std::uint64_t max_small_body_bytes = 1024 * 1024;      // every other route
    std::uint32_t read_header_timeout_ms = 10'000;         // time to receive the headers
    std::uint32_t read_body_timeout_ms = 600'000;          // time to receive the whole body
    std::uint32_t idle_timeout_ms = 60'000;                // keep-alive idle
    std::uint32_t max_connections = 1024;
    // Slow clients: after the first window, every window of receive_window_ms must bring at
    // least min_receive_bytes_per_s * window of headers or body, else 408 and close.
    std::uint32_t min_receive_bytes_per_s = 1024;
    std::uint32_t receive_window_ms = 10'000;
    std::uint32_t max_connections_per_client = 256;  // per remote address
    // Near the cap (this share of max_connections open), idle keep-alive connections and
    // connections still sending unauthenticated headers or bodies are closed first.
    std::uint32_t shed_above_percent = 90;
};

}  // namespace lsr::server
