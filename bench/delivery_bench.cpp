// Delivery benchmark: fills a fresh spool with N identify events in full batches, then times
// the DeliveryDispatcher draining it into a Segment endpoint (the stand-in on loopback):
//
//   python3 tests/integration/segment_stub.py --port 9999 --store count &
//   delivery_bench [--events 1000000] [--endpoint http://127.0.0.1:9999] [--gzip-min-bytes N]
//                  [--gzip-level N] [--in-flight 4] [--connections 16]
//
// Prints events/s, batches/s and request bytes. The write key's rate limit is lifted so the
// figure is the pipeline's, not the token bucket's.
#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.hpp"
#include "core/delivery/batch_envelope.hpp"
#include "core/delivery/body_compressor.hpp"
#include "server/delivery/delivery_dispatcher.hpp"
#include "server/net/logger.hpp"
#include "server/storage/spool.hpp"

namespace {

std::int64_t wall_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string make_event(std::uint64_t i) {
    const std::string id = std::to_string(i);
    return R"({"type":"identify","userId":"user-)" + id + R"(","messageId":"lsr-bench-)" + id +
           R"(","timestamp":"2026-12-01T07:00:00.000Z","traits":{"email":"user)" + id +
           R"(@example.com","name":"User )" + id +
           R"(","city":"Lisbon","sessions_count":42,"lifetime_value":1234.5},"context":{"library":{"name":"looker-segment-relay","version":"0.1.0"}}})";
}

}  // namespace

int main(int argc, char** argv) {
    std::uint64_t events = 1'000'000;
    std::string endpoint = "http://127.0.0.1:9999";
    std::uint32_t gzip_min = 64 * 1024;
    std::uint32_t gzip_level = 1;
    std::uint32_t in_flight = 4;
    std::uint32_t connections = 16;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string a = argv[i];
        if (a == "--events") events = std::stoull(argv[i + 1]);
        if (a == "--endpoint") endpoint = argv[i + 1];
        if (a == "--gzip-min-bytes") gzip_min = static_cast<std::uint32_t>(std::stoul(argv[i + 1]));
        if (a == "--gzip-level") gzip_level = static_cast<std::uint32_t>(std::stoul(argv[i + 1]));
        if (a == "--in-flight") in_flight = static_cast<std::uint32_t>(std::stoul(argv[i + 1]));
        if (a == "--connections") connections = static_cast<std::uint32_t>(std::stoul(argv[i + 1]));
    }
    const auto dir =
        std::filesystem::temp_directory_path() / ("lsr-delivery-bench-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    lsr::config::SpoolConfig spool_cfg;
    spool_cfg.path = (dir / "spool.db").string();
    spool_cfg.max_bytes = 16ull * 1024 * 1024 * 1024;
    spool_cfg.poll_interval_ms = 200;
    std::error_code ec;
    std::string message;
    auto spool = lsr::server::Spool::open(spool_cfg, ec, message);
    if (!spool) {
        std::cerr << "spool: " << message << "\n";
        return 1;
    }
    lsr::config::SegmentConfig cfg;
    cfg.region = "custom";
    cfg.endpoint = endpoint;
    cfg.gzip_min_bytes = gzip_min;
    cfg.gzip_level = gzip_level;
    cfg.max_connections = connections;
    cfg.per_write_key.requests_per_second = 0;
    cfg.per_write_key.max_in_flight = in_flight;

    // Fill: full batches by count and bytes, as the batch builder closes them.
    const auto fill_start = std::chrono::steady_clock::now();
    std::uint64_t batches = 0;
    std::uint64_t body_bytes = 0;
    lsr::server::NewBatch b;
    b.write_key = "wk_bench";
    lsr::core::BodyCompressor compressor(static_cast<int>(std::max<std::uint32_t>(cfg.gzip_level, 1)));
    auto flush = [&] {
        if (b.events == 0) return;
        b.created_ms = wall_ms();
        body_bytes += b.body.size();
        // Stored as the relay's committer stores it: deflated once when large enough.
        std::string stored;
        if (cfg.gzip_level > 0 &&
            lsr::core::BatchEnvelope::size(b.body.size(), b.write_key) > cfg.gzip_min_bytes &&
            compressor.store(b.body, stored))
            b.body.swap(stored);
        if (auto aec = spool->append({b}, nullptr)) {
            std::cerr << "append: " << aec.message() << "\n";
            std::exit(1);
        }
        ++batches;
        b.body.clear();
        b.events = 0;
    };
    for (std::uint64_t i = 0; i < events; ++i) {
        std::string e = make_event(i);
        if (b.events == cfg.max_batch_events || b.body.size() + e.size() + 2 + 100 > cfg.max_batch_bytes)
            flush();
        if (b.events > 0) b.body += ",\n";
        b.body += e;
        ++b.events;
    }
    flush();
    const double fill_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - fill_start).count();

    boost::asio::io_context io(2);
    auto guard = boost::asio::make_work_guard(io);
    lsr::server::Logger log(lsr::server::LogLevel::warn);
    prometheus::Registry registry;
    lsr::server::DeliveryDispatcher dispatcher(io, cfg, spool_cfg, *spool, log, registry,
                                               lsr::core::Clock::system());
    std::vector<std::thread> threads;
    for (int i = 0; i < 2; ++i) threads.emplace_back([&] { io.run(); });
    const auto start = std::chrono::steady_clock::now();
    dispatcher.start();
    while (spool->stats().batches > 0) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        if (std::chrono::steady_clock::now() - start > std::chrono::minutes(10)) {
            std::cerr << "timed out\n";
            break;
        }
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    guard.reset();
    io.stop();
    for (auto& t : threads) t.join();
    const auto stats = spool->stats();
    std::printf("events %llu  batches %llu  body_MB %.1f  fill_s %.2f\n",
                static_cast<unsigned long long>(events), static_cast<unsigned long long>(batches),
                static_cast<double>(body_bytes) / 1e6, fill_s);
    std::printf("drain_s %.3f  events/s %.0f  batches/s %.1f  MB/s %.1f  left %llu  dead %llu\n", s,
                static_cast<double>(events) / s, static_cast<double>(batches) / s,
                static_cast<double>(body_bytes) / 1e6 / s, static_cast<unsigned long long>(stats.batches),
                static_cast<unsigned long long>(stats.dead_letters));
    spool.reset();
    std::filesystem::remove_all(dir);
    return 0;
}
