// The dispatcher's wiring tests share this: a spool in a temporary directory, a stand-in
// Segment on 127.0.0.1, an io thread, and the helpers to read what happened. The policy the
// dispatcher carries out is tested without sockets in tests/unit/core/delivery.
//
// GCC 12 reports a false "potential null pointer dereference" inside Asio's executor
// comparison (any_executor::equal_ex); the pragma must precede the includes to reach it.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wnull-dereference"
#endif

#pragma once

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

#include "core/clock.hpp"
#include "core/delivery/body_compressor.hpp"
#include "segment_stand_in.hpp"
#include "server/delivery/delivery_dispatcher.hpp"
#include "server/net/logger.hpp"
#include "server/storage/spool.hpp"

using lsr::server::BatchFate;
using lsr::server::BatchSettled;
using lsr::server::DeliveryDispatcher;
using lsr::server::NewBatch;
using lsr::server::Spool;
using namespace std::chrono_literals;

namespace lsr::test {

inline std::int64_t wall_ms() {
    return lsr::core::Clock::system().unix_ms();
}

// Waits for a condition (checked every 5 ms), at most `limit`.
template <class Pred>
bool wait_until(Pred pred, std::chrono::milliseconds limit = 10s) {
    const auto deadline = lsr::core::Clock::system().steady() + limit;
    while (lsr::core::Clock::system().steady() < deadline) {
        if (pred()) return true;
        std::this_thread::sleep_for(5ms);
    }
    return pred();
}

inline std::string event(const std::string& id) {
    return R"({"type":"identify","userId":")" + id + R"(","messageId":"m-)" + id +
           R"(","traits":{"plan":"pro"}})";
}

inline std::string body_of(const std::vector<std::string>& ids) {
    std::string out;
    for (const auto& id : ids) {
        if (!out.empty()) out += ",\n";
        out += event(id);
    }
    return out;
}

// The events of an envelope {"sentAt":..,"writeKey":..,"batch":[<events>]}, byte for byte;
// the whole envelope when it does not have that shape.
inline std::string batch_part(const std::string& envelope) {
    const std::string start = "\"batch\":[";
    const auto from = envelope.find(start);
    if (from == std::string::npos || envelope.size() < from + start.size() + 2 ||
        envelope.compare(envelope.size() - 2, 2, "]}") != 0)
        return envelope;
    return envelope.substr(from + start.size(), envelope.size() - 2 - from - start.size());
}

// Which write key a recorded request used (from the body's writeKey).
inline std::string write_key_of(const StandInRequest& r) {
    const auto at = r.body.rfind("\"writeKey\":\"");
    if (at == std::string::npos) return {};
    const auto from = at + 12;
    return r.body.substr(from, r.body.find('"', from) - from);
}

inline double metric(prometheus::Registry& registry, const std::string& name, const std::string& label = "",
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
        dispatcher = std::make_unique<DeliveryDispatcher>(io, cfg, spool_cfg, *spool, log, registry, *clock);
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
        if (store_compressed) {
            std::string events = b.body;
            lsr::core::BodyCompressor compressor(1);
            REQUIRE(compressor.store(events, b.body));
        }
        b.events = static_cast<std::uint32_t>(ids.size());
        b.request_id = request_id;
        b.created_ms = created_ms != 0 ? created_ms : clock->unix_ms();
        REQUIRE_FALSE(spool->append({b}, nullptr));
        if (dispatcher) dispatcher->notify(key);
    }

    std::vector<BatchSettled> settled_copy() {
        std::lock_guard lock(mu);
        return settled;
    }

    bool spool_empty() { return spool->stats().batches == 0; }

    const lsr::core::Clock* clock = &lsr::core::Clock::system();  // a test may set its own before make()
    bool store_compressed = false;  // append() stores bodies deflated, as the committer does
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

}  // namespace lsr::test
