// GCC 12 reports a false "potential null pointer dereference" inside Asio's executor
// comparison (any_executor::equal_ex); the pragma must precede the includes to reach it.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wnull-dereference"
#endif

#include "server/service/operator_routes.hpp"

#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <catch2/catch.hpp>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>

#include "core/manual_clock.hpp"
#include "server/delivery/delivery_dispatcher.hpp"
#include "server/net/logger.hpp"
#include "server/storage/spool.hpp"

namespace asio = boost::asio;
using namespace lsr::server;
using namespace std::chrono_literals;

namespace {

// A GET without a body, answered once.
class GetExchange final : public HttpExchange {
  public:
    GetExchange(asio::io_context& io, std::string path) : io_(io), path_(std::move(path)) {}

    const http::request_header<>& header() const override { return header_; }
    std::string_view path() const override { return path_; }
    std::string_view path_param(std::string_view) const override { return {}; }
    std::string_view remote_address() const override { return "127.0.0.1"; }
    const std::string& route_label() const override { return path_; }
    const std::string& body() const override { return none_; }
    const std::string& body_file() const override { return none_; }
    std::uint64_t body_size() const override { return 0; }
    void respond(http::status status, std::string body, std::string_view,
                 std::initializer_list<std::pair<http::field, std::string>>) override {
        std::lock_guard lock(mu_);
        status_ = status;
        out_ = std::move(body);
        answered_ = true;
        cv_.notify_all();
    }
    void begin_stream(http::status, std::string_view) override {}
    void write_chunk(std::string) override {}
    void end_stream(std::string) override {}
    bool answered() const override {
        std::lock_guard lock(mu_);
        return answered_;
    }
    asio::any_io_executor executor() override { return io_.get_executor(); }

    std::string wait() {
        std::unique_lock lock(mu_);
        cv_.wait_for(lock, 10s, [&] { return answered_; });
        return out_;
    }

  private:
    asio::io_context& io_;
    http::request_header<> header_;
    std::string path_;
    std::string none_;
    mutable std::mutex mu_;
    std::condition_variable cv_;
    bool answered_ = false;
    http::status status_ = http::status::unknown;
    std::string out_;
};

}  // namespace

TEST_CASE("/status reads the spool off the io thread and answers with the same document as before") {
    namespace fs = std::filesystem;
    const fs::path dir = fs::temp_directory_path() / ("lsr-operator-routes-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    lsr::config::Config cfg;
    cfg.spool.path = (dir / "spool.db").string();
    cfg.segment.region = "custom";
    cfg.segment.endpoint = "http://127.0.0.1:9";
    std::error_code ec;
    std::string message;
    auto spool = Spool::open(cfg.spool, ec, message);
    REQUIRE(spool);
    lsr::core::ManualClock clock(1'800'000'000'000);
    NewBatch a{"wk_alpha",
               R"({"userId":"u1"},)"
               "\n"
               R"({"userId":"u2"})",
               2, "r1", clock.unix_ms() - 2'000};
    NewBatch b{"wk_beta", R"({"userId":"u3"})", 1, "r2", clock.unix_ms()};
    REQUIRE_FALSE(spool->append({a, b}, nullptr));

    Logger log{LogLevel::error};
    prometheus::Registry registry;
    asio::io_context io;
    asio::thread_pool workers(1);
    std::atomic<bool> draining{false};
    auto dispatcher =
        std::make_unique<DeliveryDispatcher>(io, cfg.segment, cfg.spool, *spool, log, registry, clock);
    ServiceContext ctx{cfg, log, registry, io, workers, *spool, *dispatcher, draining, clock.steady(), clock};
    Router router;
    asio::thread_pool reads(1);
    register_operator_routes({&router}, ctx, clock, reads);
    clock.advance(5s);

    const auto m = router.match(http::verb::get, "/status");
    REQUIRE(m.route);
    auto ex = std::make_shared<GetExchange>(io, "/status");
    m.route->handler(ex);
    // The handler returned without reading the spool on this thread: no io thread runs yet,
    // so the answer cannot have come.
    CHECK_FALSE(ex->answered());

    auto guard = asio::make_work_guard(io);
    std::thread io_thread([&io] { io.run(); });
    const std::string body = ex->wait();
    const SpoolStats s = spool->stats();
    const std::string expected =
        std::string(R"({"service":"looker-segment-relay","version":")") + LSR_VERSION +
        R"(","uptime_s":5,"draining":false,"ack":"spooled","queue":{"batches":2,"events":3,"bytes":)" +
        std::to_string(a.body.size() + b.body.size()) + R"(,"oldest_event_age_s":7,"spool_file_bytes":)" +
        std::to_string(s.file_bytes) + R"(,"spool_max_bytes":)" + std::to_string(cfg.spool.max_bytes) +
        R"(,"dead_letters":0,"dead_letter_events":0},"sync":{"baselines":0,"rows":0,"bytes":0},"delivery":)" +
        dispatcher->status_json() + "}";
    CHECK(body == expected);
    CHECK(dispatcher->status_json() == R"({"stopping":false,"in_flight":0,"write_keys":[]})");
    reads.join();
    guard.reset();
    io.stop();
    io_thread.join();
    dispatcher.reset();
    workers.join();
    spool.reset();
    fs::remove_all(dir, ec);
}

TEST_CASE("/metrics: the registry's families, the build and the process figures") {
    namespace fs = std::filesystem;
    const fs::path dir = fs::temp_directory_path() / ("lsr-operator-metrics-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    lsr::config::Config cfg;
    cfg.spool.path = (dir / "spool.db").string();
    cfg.spool.max_bytes = 123'456'789;
    cfg.segment.region = "custom";
    cfg.segment.endpoint = "http://127.0.0.1:9";
    std::error_code ec;
    std::string message;
    auto spool = Spool::open(cfg.spool, ec, message);
    REQUIRE(spool);
    lsr::core::ManualClock clock(1'800'000'000'000);
    Logger log{LogLevel::error};
    prometheus::Registry registry;
    asio::io_context io;
    asio::thread_pool workers(1);
    std::atomic<bool> draining{false};
    auto dispatcher =
        std::make_unique<DeliveryDispatcher>(io, cfg.segment, cfg.spool, *spool, log, registry, clock);
    ServiceContext ctx{cfg, log, registry, io, workers, *spool, *dispatcher, draining, clock.steady(), clock};
    Router router;
    Router admin;
    asio::thread_pool reads(1);
    register_operator_routes({&router, &admin}, ctx, clock, reads);

    for (Router* r : {&router, &admin}) {
        const auto m = r->match(http::verb::get, "/metrics");
        REQUIRE(m.route);
        auto ex = std::make_shared<GetExchange>(io, "/metrics");
        m.route->handler(ex);
        const std::string body = ex->wait();
        CHECK(body.find(std::string("lsr_build_info{revision=\"")) != std::string::npos);
        CHECK(body.find(std::string("version=\"") + LSR_VERSION + "\"} 1") != std::string::npos);
        CHECK(body.find("lsr_spool_limit_bytes 123456789") != std::string::npos);
        for (const char* name :
             {"process_cpu_seconds_total ", "process_resident_memory_bytes ", "process_virtual_memory_bytes ",
              "process_start_time_seconds ", "process_open_fds ", "process_max_fds "}) {
            INFO(name);
            CHECK(body.find(std::string("\n") + name) != std::string::npos);
        }
        CHECK(body.find("# TYPE process_cpu_seconds_total counter") != std::string::npos);
        for (const char* gauge :
             {"lsr_sync_baselines ", "lsr_sync_baseline_rows ", "lsr_sync_baseline_bytes "}) {
            INFO(gauge);
            CHECK(body.find(std::string("\n") + gauge) != std::string::npos);
        }
    }
    reads.join();
    dispatcher.reset();
    workers.join();
    spool.reset();
    fs::remove_all(dir, ec);
}
