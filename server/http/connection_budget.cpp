#include "server/http/connection_budget.hpp"

#include <algorithm>

namespace lsr::server {

namespace {

// Lower goes first.
int rank(ConnState s) {
    switch (s) {
        case ConnState::lingering:
            return 0;
        case ConnState::idle:
            return 1;
        case ConnState::waiting_first:
        case ConnState::headers:
            return 2;
        case ConnState::unauthenticated_body:
            return 3;
        case ConnState::busy:
            break;
    }
    return 99;
}

}  // namespace

const char* to_string(ConnState s) {
    switch (s) {
        case ConnState::waiting_first:
            return "waiting_first_request";
        case ConnState::idle:
            return "idle_keepalive";
        case ConnState::headers:
            return "receiving_headers";
        case ConnState::unauthenticated_body:
            return "unauthenticated_body";
        case ConnState::busy:
            return "busy";
        case ConnState::lingering:
            return "lingering";
    }
    return "unknown";
}

ConnectionBudget::Limits ConnectionBudget::limits_from(const ListenerLimits& l) {
    Limits out;
    out.max_connections = l.max_connections;
    out.max_per_client = l.max_connections_per_client;
    const std::size_t pct = std::clamp<std::size_t>(l.shed_above_percent, 1, 100);
    out.shed_above = std::max<std::size_t>(1, (out.max_connections * pct + 99) / 100);
    return out;
}

bool ConnectionBudget::sheddable(ConnState s) {
    return rank(s) < 99;
}

std::optional<ConnView> ConnectionBudget::pick(const std::vector<ConnView>& conns,
                                               std::optional<std::string_view> remote) {
    const ConnView* best = nullptr;
    for (const auto& c : conns) {
        if (!sheddable(c.state)) continue;
        if (remote && c.remote != *remote) continue;
        if (!best || rank(c.state) < rank(best->state) ||
            (rank(c.state) == rank(best->state) && c.since < best->since))
            best = &c;
    }
    if (!best) return std::nullopt;
    return *best;
}

ConnectionBudget::Decision ConnectionBudget::decide(
    std::size_t open, std::size_t from_client, std::string_view remote,
    const std::function<std::vector<ConnView>()>& snapshot) const {
    Decision d;
    if (from_client >= limits_.max_per_client) {
        d.shed = pick(snapshot(), remote);
        if (!d.shed) {
            d.admit = false;
            d.refusal = Refusal::per_client;
        }
        return d;
    }
    if (open >= limits_.max_connections) {
        d.shed = pick(snapshot(), std::nullopt);
        if (!d.shed) {
            d.admit = false;
            d.refusal = Refusal::max_connections;
        }
        return d;
    }
    if (open >= limits_.shed_above) d.shed = pick(snapshot(), std::nullopt);  // keep headroom
    return d;
}

}  // namespace lsr::server
