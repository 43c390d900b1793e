// GCC 12 reports a false "potential null pointer dereference" inside Asio's executor
// comparison (any_executor::equal_ex); the pragma must precede the includes to reach it.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wnull-dereference"
#endif

// The dispatcher's wiring: batches reach Segment and settle, a retry happens, a pause holds
// one write key, stop and /status. What each answer decides is tested in
// tests/unit/core/delivery/settle_decision_test.cpp, the key's state in write_key_queue_test.cpp.
#include "server/delivery/delivery_dispatcher.hpp"

#include <catch2/catch.hpp>
#include <optional>

#include "core/manual_clock.hpp"
#include "dispatcher_fixture.hpp"

using namespace lsr::test;

TEST_CASE("DeliveryDispatcher: delivers what the spool holds and settles it") {
    Fixture f;
    f.append("wk_alpha", {"a1", "a2"});
    f.append("wk_alpha", {"a3", "a4"});
    f.append("wk_beta", {"b1", "b2"}, "r2");
    f.start();
    REQUIRE(f.stand_in.wait_requests(3, 10s));
    REQUIRE(wait_until([&] { return f.settled_copy().size() == 3; }));
    CHECK(f.spool_empty());
    for (const auto& s : f.settled_copy()) {
        CHECK(s.fate == BatchFate::delivered);
        CHECK(s.events == 2);
    }
    CHECK(metric(f.registry, "lsr_delivered_events_total") == 6);
    CHECK(metric(f.registry, "lsr_segment_batches_total", "status", "2xx") == 3);
    CHECK(metric(f.registry, "lsr_segment_events_total", "status", "2xx") == 6);
    std::set<std::string> keys;
    for (const auto& r : f.stand_in.requests()) keys.insert(write_key_of(r));
    CHECK(keys == std::set<std::string>{"wk_alpha", "wk_beta"});
    // appended later, announced by notify()
    f.append("wk_alpha", {"a5"});
    REQUIRE(f.stand_in.wait_requests(4, 5s));
    REQUIRE(wait_until([&] { return f.spool_empty(); }));
}

TEST_CASE("DeliveryDispatcher: 5xx, a dropped connection and a timeout are retried with the same events") {
    Fixture f;
    f.cfg.request_timeout_ms = 300;
    StandInAnswer e500;
    e500.status = 500;
    StandInAnswer drop;
    drop.drop = true;
    StandInAnswer slow;
    slow.delay = 800ms;
    f.stand_in.push(e500);
    f.stand_in.push(drop);
    f.stand_in.push(slow);
    f.append("wk_alpha", {"x1", "x2", "x3"});
    f.start();
    REQUIRE(wait_until([&] { return f.settled_copy().size() == 1; }));
    CHECK(f.settled_copy()[0].fate == BatchFate::delivered);
    CHECK(f.spool_empty());
    // the timed-out request is recorded when the stand-in answers it, possibly last
    REQUIRE(f.stand_in.wait_requests(4, 5s));
    auto reqs = f.stand_in.requests();
    REQUIRE(reqs.size() == 4);
    std::sort(reqs.begin(), reqs.end(), [](const StandInRequest& a, const StandInRequest& b) {
        auto n = [](const StandInRequest& r) {
            auto it = r.headers.find("x-retry-count");
            return it == r.headers.end() ? 0 : std::stoi(it->second);
        };
        return n(a) < n(b);
    });
    // 500; the drop hits the kept-alive connection, which the client replaces once on its
    // own (same attempt, same X-Retry-Count); that fresh attempt times out; then 200.
    CHECK(reqs[0].headers.count("x-retry-count") == 0);
    CHECK(reqs[1].headers.at("x-retry-count") == "1");
    CHECK(reqs[2].headers.at("x-retry-count") == "1");
    CHECK(reqs[3].headers.at("x-retry-count") == "2");
    for (const auto& r : reqs) CHECK(batch_part(r.body) == batch_part(reqs[0].body));
    CHECK(metric(f.registry, "lsr_segment_retries_total") == 2);
    CHECK(metric(f.registry, "lsr_segment_batches_total", "status", "5xx") == 1);
    CHECK(metric(f.registry, "lsr_segment_batches_total", "status", "network") == 1);
    CHECK(metric(f.registry, "lsr_delivered_events_total") == 3);
}

TEST_CASE("DeliveryDispatcher: Retry-After pauses only that write key, until the wall clock passes it") {
    // The wall clock stands still: alpha's pause (Retry-After: 1) cannot end, whatever the
    // timers do, while beta flows. Once the clock passes it, alpha goes.
    lsr::core::ManualClock clock(1'800'000'000'000);  // outlives the fixture's dispatcher
    Fixture f;
    f.clock = &clock;
    std::atomic<int> alpha_calls{0};
    f.stand_in.set_decide([&](const StandInRequest& r) {
        StandInAnswer a;
        if (write_key_of(r) == "wk_alpha" && alpha_calls++ == 0) {
            a.status = 429;
            a.headers = {{"Retry-After", "1"}};
        }
        return a;
    });
    f.append("wk_alpha", {"a1"});
    f.start();
    REQUIRE(wait_until([&] { return metric(f.registry, "lsr_segment_retries_total") == 1; }));
    // while alpha is paused: a new alpha batch waits, beta flows
    f.append("wk_alpha", {"a2"});
    for (int i = 0; i < 3; ++i) f.append("wk_beta", {"b" + std::to_string(i)});
    REQUIRE(wait_until([&] { return f.settled_copy().size() == 3; }));
    for (const auto& r : f.stand_in.requests()) CHECK((write_key_of(r) != "wk_alpha" || r.status == 429));
    CHECK(alpha_calls.load() == 1);
    CHECK(f.spool->stats().batches == 2);
    CHECK(f.dispatcher->status_json().find("\"paused_until_ms\":1800000001000") != std::string::npos);
    clock.advance(1000ms);  // the pause is over
    REQUIRE(wait_until([&] { return f.spool_empty(); }));
    CHECK(alpha_calls.load() == 3);  // alpha x3 (429, retry, a2)
    CHECK(f.stand_in.requests().size() == 6);
    CHECK(metric(f.registry, "lsr_segment_batches_total", "status", "4xx") == 1);
    CHECK(metric(f.registry, "lsr_segment_rate_limited_total") == 1);
    CHECK(metric(f.registry, "lsr_segment_last_success_timestamp_seconds") > 1.7e9);
}

TEST_CASE("DeliveryDispatcher: stop lets the request in flight finish, then takes nothing new") {
    Fixture f;
    StandInAnswer slow;
    slow.delay = 300ms;
    f.stand_in.push(slow);
    f.append("wk_alpha", {"s1"});
    f.start();
    std::this_thread::sleep_for(100ms);  // the request is in flight now
    auto stopped = std::make_shared<std::promise<void>>();
    auto done = stopped->get_future();
    const auto at = lsr::core::Clock::system().steady();
    f.dispatcher->stop([stopped] { stopped->set_value(); });
    REQUIRE(done.wait_for(5s) == std::future_status::ready);
    CHECK(lsr::core::Clock::system().steady() - at >= 150ms);
    CHECK(f.spool_empty());
    CHECK(f.stand_in.requests().size() == 1);
    f.append("wk_alpha", {"s2"});
    std::this_thread::sleep_for(200ms);
    CHECK(f.stand_in.requests().size() == 1);
    CHECK(f.spool->stats().batches == 1);
}

TEST_CASE("DeliveryDispatcher: status_json names keys by a short prefix only") {
    Fixture f;
    StandInAnswer e500;
    e500.status = 500;
    e500.body = R"({"error":"boom"})";
    f.stand_in.push(e500);
    f.cfg.retry.base_delay_ms = 5000;  // keep it waiting
    f.cfg.retry.max_delay_ms = 5000;
    f.append("wk_secret_key_123", {"j1"});
    f.make();
    f.dispatcher->set_jitter_for_testing([] { return 0.5; });
    f.start();
    REQUIRE(f.stand_in.wait_requests(1, 5s));
    REQUIRE(wait_until([&] { return f.dispatcher->status_json().find("http_500") != std::string::npos; }));
    const std::string s = f.dispatcher->status_json();
    CHECK(s.find("wk_secret_key_123") == std::string::npos);
    CHECK(s.find("\"key\":\"wk_s\u2026\"") != std::string::npos);
    CHECK(s.find("\"last_error\":\"http_500: {\\\"error\\\":\\\"boom\\\"}\"") != std::string::npos);
    CHECK(s.find("\"write_keys\":[") != std::string::npos);
    CHECK(s.find("\"failing\":true") != std::string::npos);  // probed until it answers again
}

TEST_CASE("DeliveryDispatcher: read_status reads the spool's figures now, on the spool thread") {
    // Before any poll: the figures are the spool's own, read for this call, not a snapshot.
    Fixture f;
    f.append("wk_alpha", {"r1", "r2"});
    f.append("wk_beta", {"r3"});
    f.make();
    f.thread = std::thread([&f] { f.io.run(); });  // not started: nothing is delivered
    auto answer = std::make_shared<std::promise<std::pair<lsr::server::SpoolStats, std::string>>>();
    auto future = answer->get_future();
    const auto caller = std::this_thread::get_id();
    std::atomic<bool> on_caller{true};
    f.dispatcher->read_status([&, answer](const lsr::server::SpoolStats& s, const std::string& delivery) {
        on_caller = std::this_thread::get_id() == caller;
        answer->set_value({s, delivery});
    });
    REQUIRE(future.wait_for(5s) == std::future_status::ready);
    const auto [stats, delivery] = future.get();
    CHECK_FALSE(on_caller.load());
    CHECK(stats.batches == 2);
    CHECK(stats.events == 3);
    CHECK(stats.file_bytes > 0);
    CHECK(delivery == f.dispatcher->status_json());
}
