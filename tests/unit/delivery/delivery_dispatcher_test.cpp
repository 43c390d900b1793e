// GCC 12 reports a false "potential null pointer dereference" inside Asio's executor
// comparison (any_executor::equal_ex); the pragma must precede the includes to reach it.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wnull-dereference"
#endif

#include "server/delivery/delivery_dispatcher.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <catch2/catch.hpp>
#include <filesystem>
#include <future>
#include <mutex>
#include <set>
#include <thread>

#include "segment_stand_in.hpp"
#include "server/net/logger.hpp"
#include "server/storage/spool.hpp"

using lsr::server::BatchFate;
using lsr::server::BatchSettled;
using lsr::server::DeliveryDispatcher;
using lsr::server::NewBatch;
using lsr::server::Spool;
using lsr::test::SegmentStandIn;
using lsr::test::StandInAnswer;
using lsr::test::StandInRequest;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

std::int64_t wall_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

template <class Pred>
bool wait_until(Pred pred, std::chrono::milliseconds limit = 10s) {
    const auto deadline = Clock::now() + limit;
    while (Clock::now() < deadline) {
        if (pred()) return true;
        std::this_thread::sleep_for(5ms);
    }
    return pred();
}

std::string event(const std::string& id) {
    return R"({"type":"identify","userId":")" + id + R"(","messageId":"m-)" + id +
           R"(","traits":{"plan":"pro"}})";
}

std::string body_of(const std::vector<std::string>& ids) {
    std::string out;
    for (const auto& id : ids) {
        if (!out.empty()) out += ",\n";
        out += event(id);
    }
    return out;
}

// The "batch" array of an envelope, without sentAt/writeKey.
std::string batch_part(const std::string& envelope) {
    const auto end = envelope.rfind("],\"sentAt\"");
    return envelope.substr(0, end == std::string::npos ? envelope.size() : end);
}

// Which write key a recorded request used (from the body's writeKey).
std::string write_key_of(const StandInRequest& r) {
    const auto at = r.body.rfind("\"writeKey\":\"");
    if (at == std::string::npos) return {};
    const auto from = at + 12;
    return r.body.substr(from, r.body.find('"', from) - from);
}

double metric(prometheus::Registry& registry, const std::string& name, const std::string& label = "",
              const std::string& value = "") {
    double total = 0;
    for (const auto& family : registry.Collect()) {
        if (family.name != name) continue;
        for (const auto& m : family.metric) {
            bool match = label.empty();
            for (const auto& l : m.label) {
                if (l.name == label && l.value == value) match = true;
            }
            if (!match) continue;
            total += m.counter.value + m.gauge.value;
        }
    }
    return total;
}

struct Fixture {
    Fixture() {
        static std::atomic<int> counter{0};
        dir = std::filesystem::temp_directory_path() /
              ("lsr-dispatcher-test-" + std::to_string(::getpid()) + "-" + std::to_string(++counter));
        std::filesystem::remove_all(dir);
        spool_cfg.path = (dir / "spool.db").string();
        spool_cfg.poll_interval_ms = 50;
        std::error_code ec;
        std::string message;
        spool = Spool::open(spool_cfg, ec, message);
        REQUIRE(spool);
        cfg.region = "custom";
        cfg.endpoint = stand_in.url();
        cfg.connect_timeout_ms = 2000;
        cfg.request_timeout_ms = 2000;
        cfg.retry.base_delay_ms = 20;
        cfg.retry.max_delay_ms = 100;
        cfg.per_write_key.requests_per_second = 0;  // unlimited unless a test says otherwise
        cfg.per_write_key.max_in_flight = 4;
    }
    ~Fixture() {
        if (dispatcher) {
            auto stopped = std::make_shared<std::promise<void>>();
            auto f = stopped->get_future();
            dispatcher->stop([stopped] { stopped->set_value(); });
            f.wait_for(5s);
            dispatcher.reset();
        }
        guard.reset();
        io.stop();
        if (thread.joinable()) thread.join();
        spool.reset();
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
    }

    void make() {
        if (dispatcher) return;
        dispatcher = std::make_unique<DeliveryDispatcher>(io, cfg, spool_cfg, *spool, log, registry);
        dispatcher->set_settled_listener([this](const BatchSettled& s) {
            std::lock_guard lock(mu);
            settled.push_back(s);
        });
    }

    void start() {
        make();
        thread = std::thread([this] { io.run(); });
        dispatcher->start();
    }

    void append(const std::string& key, const std::vector<std::string>& ids,
                const std::string& request_id = "r1", std::int64_t created_ms = 0) {
        NewBatch b;
        b.write_key = key;
        b.body = body_of(ids);
        b.events = static_cast<std::uint32_t>(ids.size());
        b.request_id = request_id;
        b.created_ms = created_ms != 0 ? created_ms : wall_ms();
        REQUIRE_FALSE(spool->append({b}, nullptr));
        if (dispatcher) dispatcher->notify(key);
    }

    std::vector<BatchSettled> settled_copy() {
        std::lock_guard lock(mu);
        return settled;
    }

    bool spool_empty() { return spool->stats().batches == 0; }

    std::filesystem::path dir;
    lsr::config::SpoolConfig spool_cfg;
    lsr::config::SegmentConfig cfg;
    std::unique_ptr<Spool> spool;
    lsr::server::Logger log{lsr::server::LogLevel::error};
    prometheus::Registry registry;
    SegmentStandIn stand_in;
    boost::asio::io_context io;
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard{io.get_executor()};
    std::thread thread;
    std::unique_ptr<DeliveryDispatcher> dispatcher;
    std::mutex mu;
    std::vector<BatchSettled> settled;
};

}  // namespace

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

TEST_CASE("DeliveryDispatcher: backoff delays follow the policy (jitter pinned)") {
    Fixture f;
    f.cfg.retry.base_delay_ms = 150;
    f.cfg.retry.max_delay_ms = 1000;
    StandInAnswer e503;
    e503.status = 503;
    f.stand_in.push(e503, 2);
    std::mutex mu;
    std::vector<Clock::time_point> times;
    f.stand_in.set_decide([&](const StandInRequest&) {
        std::lock_guard lock(mu);
        times.push_back(Clock::now());
        return StandInAnswer{};
    });
    f.append("wk_alpha", {"y1"});
    f.make();
    f.dispatcher->set_jitter_for_testing([] { return 0.999; });
    const auto start = Clock::now();
    f.start();
    REQUIRE(wait_until([&] { return f.spool_empty(); }));
    // failures 0 and 1: ~150 ms then ~300 ms (ceiling x 0.999), polled at 50 ms at worst
    const auto elapsed = Clock::now() - start;
    CHECK(elapsed >= 440ms);
    CHECK(elapsed < 2000ms);
    CHECK(f.stand_in.requests().size() == 3);
}

TEST_CASE("DeliveryDispatcher: Retry-After pauses only that write key") {
    Fixture f;
    std::mutex mu;
    std::vector<std::pair<std::string, Clock::time_point>> seen;
    std::atomic<int> alpha_calls{0};
    f.stand_in.set_decide([&](const StandInRequest& r) {
        const std::string key = write_key_of(r);
        {
            std::lock_guard lock(mu);
            seen.emplace_back(key, Clock::now());
        }
        StandInAnswer a;
        if (key == "wk_alpha" && alpha_calls++ == 0) {
            a.status = 429;
            a.headers = {{"Retry-After", "1"}};
        }
        return a;
    });
    f.append("wk_alpha", {"a1"});
    f.start();
    REQUIRE(wait_until([&] { return alpha_calls.load() == 1; }));
    std::this_thread::sleep_for(50ms);
    // while alpha is paused: a new alpha batch waits, beta flows
    f.append("wk_alpha", {"a2"});
    for (int i = 0; i < 3; ++i) f.append("wk_beta", {"b" + std::to_string(i)});
    REQUIRE(wait_until([&] { return f.spool_empty(); }, 10s));
    std::lock_guard lock(mu);
    REQUIRE(seen.size() == 6);  // alpha x3 (429, retry, a2), beta x3
    const auto first_alpha = seen[0].second;
    Clock::time_point second_alpha{};
    Clock::time_point last_beta{};
    for (std::size_t i = 1; i < seen.size(); ++i) {
        if (seen[i].first == "wk_alpha" && second_alpha == Clock::time_point{}) second_alpha = seen[i].second;
        if (seen[i].first == "wk_beta") last_beta = seen[i].second;
    }
    CHECK(second_alpha - first_alpha >= 950ms);
    CHECK(last_beta < second_alpha);
    CHECK(last_beta - first_alpha < 900ms);
    CHECK(metric(f.registry, "lsr_segment_batches_total", "status", "4xx") == 1);
    CHECK(metric(f.registry, "lsr_segment_rate_limited_total") == 1);
    CHECK(metric(f.registry, "lsr_segment_last_success_timestamp_seconds") > 1.7e9);
}

TEST_CASE("DeliveryDispatcher: a 400 is split until the poisoned event stands alone") {
    Fixture f;
    f.stand_in.set_decide([](const StandInRequest& r) {
        StandInAnswer a;
        if (r.body.find("\"userId\":\"p5\"") != std::string::npos) {
            a.status = 400;
            a.body = R"({"error":"invalid event"})";
        }
        return a;
    });
    std::vector<std::string> ids;
    for (int i = 0; i < 8; ++i) ids.push_back("p" + std::to_string(i));
    f.append("wk_alpha", ids, "req-9");
    f.start();
    REQUIRE(wait_until([&] { return f.spool_empty(); }));
    REQUIRE(wait_until([&] {
        std::uint32_t n = 0;
        for (const auto& s : f.settled_copy()) n += s.events;
        return n == 8;
    }));
    auto dead = f.spool->list_dead_letters(10, true);
    REQUIRE(dead.size() == 1);
    CHECK(dead[0].events == 1);
    CHECK(dead[0].status == 400);
    CHECK(dead[0].body == event("p5"));
    CHECK(dead[0].reason.rfind("http_400", 0) == 0);
    std::multiset<std::string> delivered;
    for (const auto& r : f.stand_in.requests()) {
        if (r.status != 200) continue;
        for (const auto& id : ids) {
            if (r.body.find("\"userId\":\"" + id + "\"") != std::string::npos) delivered.insert(id);
        }
    }
    CHECK(delivered.size() == 7);
    CHECK(delivered.count("p5") == 0);
    CHECK(metric(f.registry, "lsr_segment_split_batches_total") == 3);  // 8 -> 4 -> 2 -> 1
    CHECK(metric(f.registry, "lsr_dead_lettered_events_total", "reason", "http_400") == 1);
    CHECK(metric(f.registry, "lsr_delivered_events_total") == 7);
    int dead_settled = 0;
    for (const auto& s : f.settled_copy()) {
        CHECK(s.request_id == "req-9");
        if (s.fate == BatchFate::dead_lettered) ++dead_settled;
    }
    CHECK(dead_settled == 1);
}

TEST_CASE("DeliveryDispatcher: 401 and 501 are dead-lettered at once") {
    Fixture f;
    StandInAnswer e401;
    e401.status = 401;
    StandInAnswer e501;
    e501.status = 501;
    f.stand_in.push(e401);
    f.append("wk_alpha", {"d1", "d2"});
    f.start();
    REQUIRE(wait_until([&] { return f.spool_empty(); }));
    f.stand_in.push(e501);
    f.append("wk_alpha", {"d3"});
    REQUIRE(wait_until([&] { return f.spool->list_dead_letters(10, false).size() == 2; }));
    REQUIRE(wait_until([&] { return f.settled_copy().size() == 2; }));  // metrics are counted by then
    CHECK(f.stand_in.requests().size() == 2);
    CHECK(metric(f.registry, "lsr_dead_lettered_events_total", "reason", "http_401") == 2);
    CHECK(metric(f.registry, "lsr_dead_lettered_events_total", "reason", "http_501") == 1);
    CHECK(metric(f.registry, "lsr_segment_retries_total") == 0);
}

TEST_CASE("DeliveryDispatcher: a batch older than give_up_after_s is dead-lettered on failure") {
    Fixture f;
    f.cfg.retry.give_up_after_s = 2;
    f.stand_in.set_decide([](const StandInRequest&) {
        StandInAnswer a;
        a.status = 503;
        return a;
    });
    f.append("wk_alpha", {"g1", "g2"}, "r-old", wall_ms() - 10'000);
    f.start();
    REQUIRE(wait_until([&] { return f.spool_empty(); }));
    auto dead = f.spool->list_dead_letters(10, false);
    REQUIRE(dead.size() == 1);
    CHECK(dead[0].reason.rfind("gave up after ", 0) == 0);
    CHECK(dead[0].reason.find("http_503") != std::string::npos);
    CHECK(f.stand_in.requests().size() == 1);
    REQUIRE(wait_until([&] { return f.settled_copy().size() == 1; }));
    CHECK(metric(f.registry, "lsr_dead_lettered_events_total", "reason", "gave_up") == 2);
    CHECK(f.settled_copy()[0].fate == BatchFate::dead_lettered);
}

TEST_CASE("DeliveryDispatcher: in-flight cap per write key") {
    Fixture f;
    f.cfg.per_write_key.max_in_flight = 2;
    StandInAnswer slow;
    slow.delay = 80ms;
    f.stand_in.set_decide([&](const StandInRequest&) { return slow; });
    for (int i = 0; i < 6; ++i) f.append("wk_alpha", {"c" + std::to_string(i)});
    f.start();
    REQUIRE(wait_until([&] { return f.spool_empty(); }));
    CHECK(f.stand_in.max_concurrent() == 2);
    CHECK(f.stand_in.requests().size() == 6);
}

TEST_CASE("DeliveryDispatcher: token bucket per write key") {
    Fixture f;
    f.cfg.per_write_key.requests_per_second = 10;
    f.cfg.per_write_key.burst = 1;
    for (int i = 0; i < 5; ++i) f.append("wk_alpha", {"t" + std::to_string(i)});
    const auto start = Clock::now();
    f.start();
    REQUIRE(wait_until([&] { return f.spool_empty(); }));
    const auto elapsed = Clock::now() - start;
    CHECK(elapsed >= 380ms);  // 1 at once, then 4 at 10/s
    CHECK(elapsed < 3000ms);
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
    const auto at = Clock::now();
    f.dispatcher->stop([stopped] { stopped->set_value(); });
    REQUIRE(done.wait_for(5s) == std::future_status::ready);
    CHECK(Clock::now() - at >= 150ms);
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

TEST_CASE("DeliveryDispatcher: X-RateLimit-Reset pauses on a 429 only; Retry-After on any retryable answer") {
    Fixture f;
    std::mutex mu;
    std::vector<Clock::time_point> times;
    std::atomic<int> calls{0};
    f.stand_in.set_decide([&](const StandInRequest&) {
        {
            std::lock_guard lock(mu);
            times.push_back(Clock::now());
        }
        StandInAnswer a;
        switch (calls++) {
            case 0:  // informational reset header on a 503: plain backoff (20-100 ms here)
                a.status = 503;
                a.headers = {{"X-RateLimit-Reset", "5"}};
                break;
            case 1:  // a 429 with only X-RateLimit-Reset: wait it out
                a.status = 429;
                a.headers = {{"X-RateLimit-Reset", "1"}};
                break;
            case 2:  // Retry-After on a 503 is honoured too
                a.status = 503;
                a.headers = {{"Retry-After", "1"}};
                break;
            default:
                break;
        }
        return a;
    });
    f.append("wk_alpha", {"z1"});
    f.start();
    REQUIRE(wait_until([&] { return f.spool_empty(); }, 10s));
    std::lock_guard lock(mu);
    REQUIRE(times.size() == 4);
    CHECK(times[1] - times[0] < 700ms);
    CHECK(times[2] - times[1] >= 950ms);
    CHECK(times[3] - times[2] >= 950ms);
}

TEST_CASE(
    "DeliveryDispatcher: a batch that cannot be sent for a local reason is dead-lettered; the rest flows") {
    // The spool already holds a batch whose request cannot be built (a 49,200-character write
    // key: Beast refuses its Basic-auth header with std::length_error). It is dead-lettered
    // with the reason, and every other batch, of this key's neighbours, is delivered.
    Fixture f;
    const std::string huge_key(49'200, 'h');
    f.append("wk_alpha", {"a1", "a2"});
    f.append(huge_key, {"h1", "h2", "h3"}, "r-huge");
    f.append("wk_beta", {"b1"}, "r2");
    f.append("wk_alpha", {"a3"});
    f.start();
    REQUIRE(wait_until([&] { return f.spool_empty(); }));
    auto dead = f.spool->list_dead_letters(10, false);
    REQUIRE(dead.size() == 1);
    CHECK(dead[0].write_key == huge_key);
    CHECK(dead[0].events == 3);
    CHECK(dead[0].status == 0);
    CHECK(dead[0].reason.rfind("local: ", 0) == 0);
    CHECK(dead[0].reason.find("field value too large") != std::string::npos);
    const auto reqs = f.stand_in.requests();
    REQUIRE(reqs.size() == 3);
    std::multiset<std::string> bodies;
    for (const auto& r : reqs) bodies.insert(write_key_of(r) + "|" + batch_part(r.body));
    const auto expected = [](const std::string& key, const std::vector<std::string>& ids) {
        return key + "|{\"batch\":[" + body_of(ids);
    };
    CHECK(bodies == std::multiset<std::string>{expected("wk_alpha", {"a1", "a2"}),
                                               expected("wk_alpha", {"a3"}), expected("wk_beta", {"b1"})});
    REQUIRE(wait_until([&] { return f.settled_copy().size() == 4; }));
    CHECK(metric(f.registry, "lsr_dead_lettered_events_total", "reason", "local") == 3);
    CHECK(metric(f.registry, "lsr_delivered_events_total") == 4);
}

TEST_CASE("DeliveryDispatcher: a settle that failed to write is written again by the dispatcher itself") {
    // As on a full disk: marking batches delivered and rescheduling them fails for a while.
    // Each batch is written again by the dispatcher's own timer once the disk takes writes,
    // without any new batch or notify, and none is sent twice.
    Fixture f;
    std::atomic<bool> disk_full{true};
    std::atomic<int> refused{0};
    std::atomic<int> alpha_calls{0};
    f.stand_in.set_decide([&](const StandInRequest& r) {
        StandInAnswer a;
        if (write_key_of(r) == "wk_alpha" && alpha_calls++ == 0) a.status = 503;
        return a;
    });
    for (int i = 0; i < 6; ++i) f.append(i % 2 == 0 ? "wk_alpha" : "wk_beta", {"s" + std::to_string(i)});
    f.make();
    f.dispatcher->set_settle_fault_for_testing([&](std::string_view) {
        if (!disk_full.load()) return false;
        ++refused;
        return true;
    });
    f.start();
    REQUIRE(wait_until([&] { return refused.load() >= 6; }));  // every first settle failed
    std::this_thread::sleep_for(300ms);
    CHECK_FALSE(f.spool_empty());
    disk_full = false;  // space is back; nothing else happens
    REQUIRE(wait_until([&] { return f.spool_empty(); }, 20s));
    CHECK(f.stand_in.requests().size() == 7);  // six batches, one of them twice (its 503)
    REQUIRE(wait_until([&] { return f.settled_copy().size() == 6; }));
    CHECK(metric(f.registry, "lsr_delivered_events_total") == 6);
}

TEST_CASE("DeliveryDispatcher: when a failing write key answers again, its waiting batches are due at once") {
    // After an outage the key's batches wait long backoffs (20 s here). One request fails, the
    // key is probed, the probe succeeds: everything waiting goes now, not after the backoffs.
    Fixture f;
    f.cfg.retry.base_delay_ms = 20;
    f.cfg.retry.max_delay_ms = 30'000;
    for (int i = 0; i < 5; ++i) f.append("wk_alpha", {"w" + std::to_string(i)});
    {
        auto waiting = f.spool->lease_due("wk_alpha", wall_ms(), 10);
        REQUIRE(waiting.size() == 5);
        for (const auto& b : waiting)
            REQUIRE_FALSE(f.spool->reschedule(b.id, wall_ms() + 20'000, "http_503"));
    }
    f.append("wk_alpha", {"now"});
    StandInAnswer e503;
    e503.status = 503;
    f.stand_in.push(e503);
    const auto start = Clock::now();
    f.start();
    REQUIRE(wait_until([&] { return f.spool_empty(); }, 15s));
    CHECK(Clock::now() - start < 10s);  // not the 20 s backoff
    const auto reqs = f.stand_in.requests();
    CHECK(reqs.size() == 7);  // the 503, the probe, then the other five
    REQUIRE(wait_until([&] { return f.settled_copy().size() == 6; }));
    CHECK(metric(f.registry, "lsr_delivered_events_total") == 6);
}

TEST_CASE("DeliveryDispatcher: one batch Segment keeps failing does not hold up its write key") {
    // The key's oldest batch always gets a 500. Probes take the batch due soonest, so the
    // failed one goes behind the others, and the rest of the key is delivered.
    Fixture f;
    f.cfg.retry.base_delay_ms = 20;
    f.cfg.retry.max_delay_ms = 30'000;
    f.cfg.per_write_key.max_in_flight = 1;
    f.stand_in.set_decide([](const StandInRequest& r) {
        StandInAnswer a;
        if (r.body.find("\"userId\":\"p1\"") != std::string::npos) a.status = 500;
        return a;
    });
    f.append("wk_alpha", {"p1"}, "r1", wall_ms() - 1'000);
    for (int i = 0; i < 5; ++i) f.append("wk_alpha", {"g" + std::to_string(i)});
    f.start();
    REQUIRE(wait_until([&] { return f.spool->stats().batches == 1; }, 10s));
    CHECK(metric(f.registry, "lsr_delivered_events_total") == 5);
}

TEST_CASE(
    "DeliveryDispatcher: after a restart, batches waiting out an earlier backoff go once a probe succeeds") {
    // The spool holds batches rescheduled 20 s ahead by an earlier run (Segment was down
    // then). A new dispatcher probes the key at once; Segment answers, and they all go.
    Fixture f;
    f.cfg.retry.max_delay_ms = 30'000;
    for (int i = 0; i < 5; ++i) f.append("wk_alpha", {"w" + std::to_string(i)});
    {
        auto waiting = f.spool->lease_due("wk_alpha", wall_ms(), 10);
        REQUIRE(waiting.size() == 5);
        for (const auto& b : waiting) REQUIRE_FALSE(f.spool->reschedule(b.id, wall_ms() + 20'000, "network"));
        f.spool->release_all_leases();
    }
    const auto start = Clock::now();
    f.start();
    REQUIRE(wait_until([&] { return f.spool_empty(); }, 15s));
    CHECK(Clock::now() - start < 10s);  // not the 20 s backoff
    CHECK(f.stand_in.requests().size() == 5);
}
