// What a client connection is doing right now, as the connection budget sees it. Written by
// the session on its strand, read by the acceptor when it must choose a connection to shed.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

#include "core/clock.hpp"

namespace lsr::server {

enum class ConnState : std::uint8_t {
    waiting_first,         // accepted (or in the TLS handshake), no request byte yet
    idle,                  // keep-alive: waiting for the next request
    headers,               // receiving a request's headers
    unauthenticated_body,  // receiving a body on a route that checks no token first
    busy,                  // an admitted request: its body, its handler or its answer
    lingering,             // answered with Connection: close, draining what the client still sends
};

const char* to_string(ConnState s);

struct ConnectionStatus {
    std::atomic<ConnState> state{ConnState::waiting_first};
    std::atomic<std::int64_t> since_ns{0};  // steady time, when the state was entered
    std::atomic<bool> shed_pending{false};  // chosen to be closed; not chosen again
    const core::Clock* clock = &core::Clock::system();

    void set(ConnState s) {
        since_ns.store(clock->steady().time_since_epoch().count(), std::memory_order_relaxed);
        state.store(s, std::memory_order_release);
    }
};

}  // namespace lsr::server
