// GCC 12 reports a false "potential null pointer dereference" inside Asio's executor
// comparison (any_executor::equal_ex); the pragma must precede the includes to reach it.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wnull-dereference"
#endif

#include "server/delivery/spool_worker.hpp"

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <catch2/catch.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "server/net/logger.hpp"

using lsr::server::Logger;
using lsr::server::LogLevel;
using lsr::server::SpoolErrc;
using lsr::server::SpoolWorker;
namespace asio = boost::asio;

TEST_CASE("SpoolWorker: calls run off the strand, in order; their results come back on the strand",
          "[spool_worker]") {
    asio::io_context io;
    auto guard = asio::make_work_guard(io);
    auto strand = asio::make_strand(io);
    Logger log(LogLevel::error);
    SpoolWorker worker(strand, log);
    auto owner = std::make_shared<int>(0);

    std::vector<int> order;
    std::vector<std::thread::id> work_threads;
    bool on_strand = true;
    const auto io_thread = std::this_thread::get_id();
    asio::post(strand, [&] {
        for (int i = 0; i < 5; ++i) {
            worker.post(
                owner,
                [&work_threads, i] {
                    work_threads.push_back(std::this_thread::get_id());
                    return i;
                },
                [&, i](int result) {
                    on_strand = on_strand && strand.running_in_this_thread();
                    CHECK(result == i);
                    order.push_back(result);
                    if (order.size() == 5) {
                        CHECK(worker.pending() == 0);
                        guard.reset();
                    }
                });
        }
        CHECK(worker.pending() == 5);
    });
    io.run_for(std::chrono::seconds(10));
    CHECK(order == std::vector<int>{0, 1, 2, 3, 4});
    CHECK(on_strand);
    REQUIRE(work_threads.size() == 5);
    for (const auto& id : work_threads) {
        CHECK(id != io_thread);
        CHECK(id == work_threads.front());  // one spool thread
    }
}

TEST_CASE("SpoolWorker: a call that throws stands for a failed write or an empty read", "[spool_worker]") {
    asio::io_context io;
    auto guard = asio::make_work_guard(io);
    auto strand = asio::make_strand(io);
    Logger log(LogLevel::error);
    SpoolWorker worker(strand, log);
    auto owner = std::make_shared<int>(0);

    std::error_code write_result;
    std::vector<std::string> read_result{"not", "empty"};
    int answers = 0;
    asio::post(strand, [&] {
        worker.post(
            owner, []() -> std::error_code { throw std::runtime_error("disk gone"); },
            [&](std::error_code ec) {
                write_result = ec;
                ++answers;
            });
        worker.post(
            owner, []() -> std::vector<std::string> { throw 42; },
            [&](std::vector<std::string> rows) {
                read_result = std::move(rows);
                ++answers;
            });
        // An answer handler that throws goes no further than the worker.
        worker.post(
            owner, [] { return 1; },
            [&](int) {
                ++answers;
                throw std::runtime_error("listener failed");
            });
        worker.post(
            owner, [] { return 2; },
            [&](int) {
                ++answers;
                guard.reset();
            });
    });
    io.run_for(std::chrono::seconds(10));
    CHECK(answers == 4);
    CHECK(write_result == make_error_code(SpoolErrc::io));
    CHECK(read_result.empty());
}

TEST_CASE("SpoolWorker: after close no call runs and no answer comes", "[spool_worker]") {
    asio::io_context io;
    auto strand = asio::make_strand(io);
    Logger log(LogLevel::error);
    SpoolWorker worker(strand, log);
    auto owner = std::make_shared<int>(0);
    worker.close();
    CHECK(worker.closed());
    std::atomic<bool> ran{false};
    bool answered = false;
    worker.post(
        owner,
        [&] {
            ran = true;
            return 1;
        },
        [&](int) { answered = true; });
    io.run_for(std::chrono::milliseconds(100));
    CHECK_FALSE(ran);
    CHECK_FALSE(answered);
    CHECK(owner.use_count() == 1);  // nothing holds the owner
}
