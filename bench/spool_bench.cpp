// Spool throughput: append (one commit per batch, as the execute path does), then
// lease + mark_delivered (as the dispatcher does), then both at once from two threads.
// Batches are the size the pipeline produces: ~1,900 events, ~475 KB.
//
//   spool_bench [--dir DIR] [--batches N] [--events N] [--bytes N] [--sync full|normal]
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "server/storage/spool.hpp"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::int64_t wall_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

// A body of `events` identify calls totalling about `bytes`.
std::string make_body(std::uint32_t events, std::size_t bytes, std::uint32_t seed) {
    std::string body;
    body.reserve(bytes + 256);
    const std::size_t per_event = bytes / (events == 0 ? 1 : events);
    for (std::uint32_t i = 0; i < events; ++i) {
        if (i != 0) body += ",\n";
        std::string event = R"({"type":"identify","userId":"u-)" + std::to_string(seed) + "-" +
                            std::to_string(i) + R"(","messageId":"lsr-)" + std::to_string(seed * 7919u + i) +
                            R"(","traits":{"email":"user)" + std::to_string(i) + R"(@example.com","note":")";
        const std::size_t target = per_event > event.size() + 40 ? per_event - 40 : 0;
        std::uint32_t x = seed * 2654435761u + i;
        while (event.size() < target) {
            x = x * 1103515245u + 12345u;
            event += static_cast<char>('a' + (x >> 16) % 26);
        }
        event += R"("},"timestamp":"2026-12-01T00:00:00Z"})";
        body += event;
    }
    return body;
}

long peak_rss_kb() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_maxrss;
}

void report(const char* phase, std::size_t batches, std::uint64_t bytes, std::uint64_t events, double secs) {
    std::printf("%-28s %6zu batches in %7.3f s: %8.1f batches/s  %8.1f MB/s  %10.0f rows/s\n", phase, batches,
                secs, batches / secs, bytes / secs / 1e6, events / secs);
}

}  // namespace

int main(int argc, char** argv) {
    std::string dir;
    std::size_t batches = 400;
    std::uint32_t events = 1900;
    std::size_t bytes = 475'000;
    bool sync_full = true;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) {
                std::cerr << arg << " needs a value\n";
                std::exit(2);
            }
            return argv[++i];
        };
        if (arg == "--dir") {
            dir = value();
        } else if (arg == "--batches") {
            batches = std::stoul(value());
        } else if (arg == "--events") {
            events = static_cast<std::uint32_t>(std::stoul(value()));
        } else if (arg == "--bytes") {
            bytes = std::stoul(value());
        } else if (arg == "--sync") {
            sync_full = value() != "normal";
        } else {
            std::cerr << "usage: spool_bench [--dir DIR] [--batches N] [--events N] [--bytes N] "
                         "[--sync full|normal]\n";
            return 2;
        }
    }
    if (dir.empty())
        dir = (fs::temp_directory_path() / ("lsr-spool-bench-" + std::to_string(::getpid()))).string();
    fs::remove_all(dir);

    lsr::config::SpoolConfig cfg;
    cfg.path = (fs::path(dir) / "spool.db").string();
    cfg.max_bytes = 64ull * 1024 * 1024 * 1024;
    cfg.synchronous_full = sync_full;
    std::error_code ec;
    std::string message;
    auto spool = lsr::server::Spool::open(cfg, ec, message);
    if (!spool) {
        std::cerr << message << "\n";
        return 1;
    }

    // A few distinct bodies, reused: building them is not what is measured.
    std::vector<lsr::server::NewBatch> templates;
    for (std::uint32_t k = 0; k < 8; ++k) {
        lsr::server::NewBatch b;
        b.write_key = "bench-write-key-" + std::to_string(k % 2);
        b.body = make_body(events, bytes, k);
        b.events = events;
        b.request_id = "bench-" + std::to_string(k);
        b.created_ms = wall_ms();
        templates.push_back(std::move(b));
    }
    const std::uint64_t batch_bytes = templates[0].body.size();
    std::printf("spool %s, synchronous=%s, %zu batches of %u events / %llu bytes\n", cfg.path.c_str(),
                sync_full ? "FULL" : "NORMAL", batches, events, static_cast<unsigned long long>(batch_bytes));

    // 1. append, one commit per batch.
    auto start = Clock::now();
    for (std::size_t i = 0; i < batches; ++i) {
        if (auto e = spool->append({templates[i % templates.size()]}, nullptr)) {
            std::cerr << "append: " << e.message() << " " << e.detail() << "\n";
            return 1;
        }
    }
    report("append (1 batch/commit)", batches, batches * batch_bytes, std::uint64_t{batches} * events,
           seconds_since(start));

    // 2. lease + mark_delivered.
    const std::string keys[2] = {"bench-write-key-0", "bench-write-key-1"};
    start = Clock::now();
    std::size_t drained = 0;
    while (drained < batches) {
        std::size_t round = 0;
        for (const auto& key : keys) {
            for (const auto& b : spool->lease_due(key, wall_ms(), 8)) {
                if (auto e = spool->mark_delivered(b.id)) {
                    std::cerr << "mark_delivered: " << e.message() << "\n";
                    return 1;
                }
                ++round;
            }
        }
        if (round == 0) break;
        drained += round;
    }
    report("lease + mark_delivered", drained, drained * batch_bytes, std::uint64_t{drained} * events,
           seconds_since(start));

    // 3. steady state: one thread appends while another drains.
    std::atomic<bool> appending{true};
    std::atomic<std::size_t> delivered{0};
    start = Clock::now();
    std::thread drainer([&] {
        while (true) {
            const bool last_round = !appending.load();
            std::size_t round = 0;
            for (const auto& key : keys) {
                for (const auto& b : spool->lease_due(key, wall_ms(), 8)) {
                    if (!spool->mark_delivered(b.id)) ++round;
                }
            }
            delivered += round;
            if (round == 0) {
                if (last_round) break;
                std::this_thread::sleep_for(std::chrono::milliseconds(1));
            }
        }
    });
    for (std::size_t i = 0; i < batches; ++i) {
        if (auto e = spool->append({templates[i % templates.size()]}, nullptr)) {
            std::cerr << "append: " << e.message() << "\n";
            break;
        }
    }
    appending = false;
    drainer.join();
    const double steady = seconds_since(start);
    report("append || deliver (2 threads)", batches, batches * batch_bytes, std::uint64_t{batches} * events,
           steady);
    std::printf("  delivered %zu, left %llu; file %llu bytes\n", delivered.load(),
                static_cast<unsigned long long>(spool->stats().batches),
                static_cast<unsigned long long>(spool->stats().file_bytes));

    std::printf("peak RSS %.1f MB\n", peak_rss_kb() / 1024.0);
    spool.reset();
    fs::remove_all(dir);
    return 0;
}
