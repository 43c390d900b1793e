// Who gets a connection when connections run short (Envoy's overload manager, in small).
// Above shed_above open connections, and at the caps, a new connection is let in by closing
// one that does no admitted work: idle keep-alive connections first, then connections still
// sending their headers, then unauthenticated bodies; the oldest first within each. A client
// address at its own cap sheds its own connections the same way. A connection doing admitted
// work (an authenticated body, a handler, an answer) is never shed; when only those are left
// at a cap, the new connection is refused. Pure: the acceptor supplies the counts and a
// snapshot of the connections, and closes the one chosen.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string_view>
#include <vector>

#include "server/http/connection_status.hpp"
#include "server/http/listener_limits.hpp"

namespace lsr::server {

struct ConnView {
    const void* id;
    std::string_view remote;
    ConnState state;
    std::chrono::steady_clock::time_point since;
};

class ConnectionBudget {
  public:
    struct Limits {
        std::size_t max_connections;
        std::size_t max_per_client;
        std::size_t shed_above;  // open connections from which new ones shed an old one
    };
    static Limits limits_from(const ListenerLimits& l);

    enum class Refusal { none, max_connections, per_client };
    struct Decision {
        bool admit = true;
        Refusal refusal = Refusal::none;
        std::optional<ConnView> shed;  // close this one to make room
    };

    explicit ConnectionBudget(Limits limits) : limits_(limits) {}

    // A new connection from `remote`; `open` connections are open, `from_client` of them from
    // that address. `snapshot` lists the open connections; it is only called under pressure.
    Decision decide(std::size_t open, std::size_t from_client, std::string_view remote,
                    const std::function<std::vector<ConnView>()>& snapshot) const;

    static bool sheddable(ConnState s);
    // The connection to close first, among those of `remote` when given.
    static std::optional<ConnView> pick(const std::vector<ConnView>& conns,
                                        std::optional<std::string_view> remote);

    const Limits& limits() const { return limits_; }

  private:
    Limits limits_;
};

}  // namespace lsr::server
