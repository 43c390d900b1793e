// GCC 12 reports a false "potential null pointer dereference" inside Asio's executor
// comparison (any_executor::equal_ex); the pragma must precede the includes to reach it.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wnull-dereference"
#endif

#include "server/delivery/settle_retrier.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <map>

using lsr::server::SettleRetrier;
namespace asio = boost::asio;

TEST_CASE("SettleRetrier: the delay doubles from 250 ms up to 5 s", "[settle_retrier]") {
    asio::io_context io;
    SettleRetrier retrier(asio::make_strand(io));
    CHECK(retrier.delay_ms(0) == 250);
    CHECK(retrier.delay_ms(1) == 500);
    CHECK(retrier.delay_ms(2) == 1000);
    CHECK(retrier.delay_ms(3) == 2000);
    CHECK(retrier.delay_ms(4) == 4000);
    CHECK(retrier.delay_ms(5) == 5000);
    CHECK(retrier.delay_ms(40) == 5000);
}

TEST_CASE("SettleRetrier: a timer fires when due; cancel_all fires the others as not due",
          "[settle_retrier]") {
    asio::io_context io;
    auto guard = asio::make_work_guard(io);
    auto strand = asio::make_strand(io);
    SettleRetrier retrier(strand);
    auto owner = std::make_shared<int>(0);
    std::map<std::int64_t, bool> fired;
    bool on_strand = true;
    auto fire = [&](std::int64_t id) {
        return [&, id](bool due) {
            on_strand = on_strand && strand.running_in_this_thread();
            fired[id] = due;
            if (id == 1) {
                retrier.cancel_all();  // the long ones are cancelled once the short one fired
            }
            if (fired.size() == 3) {
                guard.reset();
            }
        };
    };
    asio::post(strand, [&] {
        retrier.schedule(owner, 1, 1, fire(1));
        retrier.schedule(owner, 2, 60'000, fire(2));
        retrier.schedule(owner, 3, 60'000, fire(3));
    });
    io.run_for(std::chrono::seconds(10));
    REQUIRE(fired.size() == 3);
    CHECK(fired[1]);
    CHECK_FALSE(fired[2]);
    CHECK_FALSE(fired[3]);
    CHECK(on_strand);
    CHECK(owner.use_count() == 1);  // the handlers let the owner go
}
