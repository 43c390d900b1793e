// The ack: delivered waiter against a fake settled count and a manual clock: no sockets, no
// sleeps (its poll timer never runs: the io_context is not run; the test ticks by hand).
#include "server/ingest/delivery_waiter.hpp"

#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <optional>

#include "core/manual_clock.hpp"

using lsr::core::SettledEvents;
using lsr::server::DeliveryWaiter;
using namespace std::chrono_literals;

namespace {

struct Fixture {
    boost::asio::io_context io;
    lsr::core::ManualClock clock;
    SettledEvents settled;
    bool give_up = false;
    int answers = 0;
    std::optional<SettledEvents> answered;

    std::shared_ptr<DeliveryWaiter> waiter(std::uint64_t events, std::chrono::milliseconds timeout) {
        return std::make_shared<DeliveryWaiter>(
            io.get_executor(), clock, events, timeout, [this] { return settled; }, [this] { return give_up; },
            [this](const SettledEvents& s) {
                ++answers;
                answered = s;
            });
    }
};

}  // namespace

TEST_CASE("DeliveryWaiter answers once every event is settled, delivered or dead", "[delivery_waiter]") {
    struct Row {
        std::uint64_t events;
        SettledEvents settled;
        bool answers;
    };
    const Row rows[] = {
        {3, {0, 0}, false}, {3, {2, 0}, false}, {3, {3, 0}, true},
        {3, {2, 1}, true},  {3, {0, 3}, true},  {3, {4, 0}, true},  // a split batch over-counts nothing
    };
    for (const auto& row : rows) {
        Fixture f;
        auto w = f.waiter(row.events, 1000ms);
        f.settled = row.settled;
        w->check(false);
        CHECK(f.answers == (row.answers ? 1 : 0));
        CHECK(w->finished() == row.answers);
    }
}

TEST_CASE("DeliveryWaiter gives up at its deadline with what is settled so far", "[delivery_waiter]") {
    Fixture f;
    auto w = f.waiter(5, 30'000ms);
    w->start();  // deadline = now + 30 s; the poll timer is armed but never runs here
    f.settled = {2, 1};
    CHECK(w->tick());
    f.clock.advance(29'999ms);
    CHECK(w->tick());
    CHECK(f.answers == 0);
    f.clock.advance(1ms);
    CHECK_FALSE(w->tick());
    REQUIRE(f.answers == 1);
    CHECK(f.answered->delivered == 2);
    CHECK(f.answered->dead == 1);
    // Later settles and ticks answer nothing more.
    f.settled = {5, 0};
    w->check(false);
    CHECK_FALSE(w->tick());
    CHECK(f.answers == 1);
}

TEST_CASE("DeliveryWaiter gives up at once on a drain or when Looker left", "[delivery_waiter]") {
    Fixture f;
    auto w = f.waiter(5, 30'000ms);
    w->start();
    CHECK(w->tick());
    f.give_up = true;
    CHECK_FALSE(w->tick());
    CHECK(f.answers == 1);
    CHECK(f.answered->delivered == 0);
}

TEST_CASE("DeliveryWaiter started after everything settled answers at once", "[delivery_waiter]") {
    Fixture f;
    f.settled = {4, 0};
    auto w = f.waiter(4, 30'000ms);
    w->start();
    CHECK(f.answers == 1);
}
