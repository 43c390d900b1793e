#include "server/http/connection_budget.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

using namespace lsr::server;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

const Clock::time_point t0 = Clock::time_point{} + 1000s;

struct Conns {
    std::vector<int> ids;
    std::vector<ConnView> views;
    void add(int id, ConnState s, Clock::duration age, std::string_view remote = "10.0.0.1") {
        ids.push_back(id);
        views.push_back(
            ConnView{reinterpret_cast<const void*>(static_cast<std::intptr_t>(id)), remote, s, t0 - age});
    }
    std::function<std::vector<ConnView>()> snapshot() {
        return [this] { return views; };
    }
};

int id_of(const ConnView& v) {
    return static_cast<int>(reinterpret_cast<std::intptr_t>(v.id));
}

ConnectionBudget budget(std::size_t max, std::size_t per_client, unsigned percent) {
    lsr::server::ListenerLimits l;
    l.max_connections = static_cast<std::uint32_t>(max);
    l.max_connections_per_client = static_cast<std::uint32_t>(per_client);
    l.shed_above_percent = percent;
    return ConnectionBudget(ConnectionBudget::limits_from(l));
}

}  // namespace

TEST_CASE("below the shedding threshold nothing is looked at", "[connection_budget]") {
    auto b = budget(100, 10, 90);
    CHECK(b.limits().shed_above == 90);
    bool asked = false;
    const auto d = b.decide(89, 3, "10.0.0.9", [&] {
        asked = true;
        return std::vector<ConnView>{};
    });
    CHECK(d.admit);
    CHECK_FALSE(d.shed);
    CHECK_FALSE(asked);
}

TEST_CASE("near the cap, idle keep-alive connections go first, the oldest first", "[connection_budget]") {
    auto b = budget(100, 200, 90);
    Conns c;
    c.add(1, ConnState::headers, 30s);
    c.add(2, ConnState::idle, 5s);
    c.add(3, ConnState::idle, 20s);
    c.add(4, ConnState::busy, 60s);
    c.add(5, ConnState::unauthenticated_body, 60s);
    const auto d = b.decide(95, 5, "10.0.0.9", c.snapshot());
    CHECK(d.admit);
    REQUIRE(d.shed);
    CHECK(id_of(*d.shed) == 3);
}

TEST_CASE("then connections still sending headers, then unauthenticated bodies", "[connection_budget]") {
    Conns c;
    c.add(1, ConnState::unauthenticated_body, 50s);
    c.add(2, ConnState::headers, 1s);
    c.add(3, ConnState::waiting_first, 2s);
    auto pick = ConnectionBudget::pick(c.views, std::nullopt);
    REQUIRE(pick);
    CHECK(id_of(*pick) == 3);
    c.views.erase(c.views.begin() + 2);
    c.views.erase(c.views.begin() + 1);
    pick = ConnectionBudget::pick(c.views, std::nullopt);
    REQUIRE(pick);
    CHECK(id_of(*pick) == 1);
}

TEST_CASE("an authenticated request is never shed; at the cap with nothing to shed, refuse",
          "[connection_budget]") {
    auto b = budget(3, 10, 90);
    Conns c;
    c.add(1, ConnState::busy, 100s);
    c.add(2, ConnState::busy, 100s);
    c.add(3, ConnState::busy, 100s);
    auto d = b.decide(3, 3, "10.0.0.1", c.snapshot());
    CHECK_FALSE(d.admit);
    CHECK(d.refusal == ConnectionBudget::Refusal::max_connections);
    CHECK_FALSE(d.shed);

    // Near the cap but below it, a newcomer is let in even when nothing can be shed.
    auto b2 = budget(10, 10, 50);
    d = b2.decide(6, 3, "10.0.0.1", c.snapshot());
    CHECK(d.admit);
    CHECK_FALSE(d.shed);
}

TEST_CASE("at the cap a newcomer gets in by shedding a slow unauthenticated connection",
          "[connection_budget]") {
    auto b = budget(3, 10, 100);
    Conns c;
    c.add(1, ConnState::busy, 100s);
    c.add(2, ConnState::headers, 1s);
    c.add(3, ConnState::busy, 100s);
    const auto d = b.decide(3, 3, "10.0.0.1", c.snapshot());
    CHECK(d.admit);
    REQUIRE(d.shed);
    CHECK(id_of(*d.shed) == 2);
}

TEST_CASE("a client at its own cap sheds its own connections, never another's", "[connection_budget]") {
    auto b = budget(100, 2, 90);
    Conns c;
    c.add(1, ConnState::idle, 100s, "10.0.0.2");  // another client's, older
    c.add(2, ConnState::busy, 10s, "10.0.0.1");
    c.add(3, ConnState::idle, 10s, "10.0.0.1");
    auto d = b.decide(3, 2, "10.0.0.1", c.snapshot());
    CHECK(d.admit);
    REQUIRE(d.shed);
    CHECK(id_of(*d.shed) == 3);

    c.views[2].state = ConnState::busy;
    d = b.decide(3, 2, "10.0.0.1", c.snapshot());
    CHECK_FALSE(d.admit);
    CHECK(d.refusal == ConnectionBudget::Refusal::per_client);
}

TEST_CASE("the threshold is a share of the cap, at least one connection", "[connection_budget]") {
    CHECK(budget(1024, 10, 90).limits().shed_above == 922);
    CHECK(budget(150, 10, 90).limits().shed_above == 135);
    CHECK(budget(1, 10, 10).limits().shed_above == 1);
    CHECK(budget(100, 10, 100).limits().shed_above == 100);
}
