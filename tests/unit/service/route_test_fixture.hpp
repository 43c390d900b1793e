// The Action API and webhook routes in process: the router, a fake exchange instead of a
// socket, a real spool in a temp dir and a dispatcher that is never started (so every
// accepted batch stays in the spool, where the test counts it). Shared by the route tests.
#pragma once

#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/thread_pool.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <future>
#include <mutex>
#include <thread>

#include "core/clock.hpp"
#include "core/hub/hub_token.hpp"
#include "server/delivery/delivery_dispatcher.hpp"
#include "server/net/logger.hpp"
#include "server/service/action_routes.hpp"
#include "server/service/execute_handler.hpp"
#include "server/service/webhook_routes.hpp"
#include "server/storage/spool.hpp"

namespace asio = boost::asio;
namespace fs = std::filesystem;
using namespace lsr::server;

namespace {

class FakeExchange final : public HttpExchange {
  public:
    FakeExchange(asio::io_context& io, http::request_header<> header, std::string path,
                 std::vector<std::pair<std::string, std::string>> params, std::string body, std::string label)
        : io_(io),
          header_(std::move(header)),
          path_(std::move(path)),
          params_(std::move(params)),
          body_(std::move(body)),
          label_(std::move(label)) {}

    const http::request_header<>& header() const override { return header_; }
    std::string_view path() const override { return path_; }
    std::string_view path_param(std::string_view name) const override {
        for (const auto& [k, v] : params_)
            if (k == name) return v;
        return {};
    }
    std::string_view remote_address() const override { return "127.0.0.1"; }
    const std::string& route_label() const override { return label_; }
    const std::string& body() const override { return body_; }
    const std::string& body_file() const override { return no_file_; }
    std::uint64_t body_size() const override { return body_.size(); }

    void respond(http::status status, std::string body, std::string_view,
                 std::initializer_list<std::pair<http::field, std::string>> extra) override {
        std::lock_guard lock(mutex_);
        ++answers_;
        status_ = status;
        out_ = std::move(body);
        for (const auto& [f, v] : extra)
            if (f == http::field::retry_after) retry_after_ = v;
        done_ = true;
        cv_.notify_all();
    }
    void begin_stream(http::status status, std::string_view) override {
        std::lock_guard lock(mutex_);
        ++answers_;
        status_ = status;
        streamed_ = true;
    }
    void write_chunk(std::string data) override {
        std::lock_guard lock(mutex_);
        out_ += data;
    }
    void end_stream(std::string last) override {
        std::lock_guard lock(mutex_);
        out_ += last;
        done_ = true;
        cv_.notify_all();
    }
    bool answered() const override { return answers_ > 0; }
    asio::any_io_executor executor() override { return io_.get_executor(); }

    bool wait(std::chrono::milliseconds limit = std::chrono::milliseconds(10000)) {
        std::unique_lock lock(mutex_);
        return cv_.wait_for(lock, limit, [&] { return done_; });
    }
    http::status status() {
        std::lock_guard lock(mutex_);
        return status_;
    }
    std::string out() {
        std::lock_guard lock(mutex_);
        return out_;
    }
    bool streamed() {
        std::lock_guard lock(mutex_);
        return streamed_;
    }
    int answers() {
        std::lock_guard lock(mutex_);
        return answers_;
    }
    std::string retry_after() {
        std::lock_guard lock(mutex_);
        return retry_after_;
    }

  private:
    asio::io_context& io_;
    http::request_header<> header_;
    std::string path_;
    std::vector<std::pair<std::string, std::string>> params_;
    std::string body_;
    std::string label_;
    std::string no_file_;
    std::mutex mutex_;
    std::condition_variable cv_;
    int answers_ = 0;
    http::status status_ = http::status::unknown;
    std::string out_;
    std::string retry_after_;
    bool streamed_ = false;
    bool done_ = false;
};

const std::string kSecret = "unit-secret";

struct Relay {
    lsr::config::Config cfg;
    fs::path dir;
    Logger log{LogLevel::error};
    prometheus::Registry registry;
    asio::io_context io;
    asio::executor_work_guard<asio::io_context::executor_type> guard{io.get_executor()};
    asio::thread_pool workers{2};
    std::unique_ptr<Spool> spool;
    std::unique_ptr<DeliveryDispatcher> dispatcher;
    std::atomic<bool> draining{false};
    std::unique_ptr<ServiceContext> ctx;
    std::shared_ptr<ExecuteHandler> execute;
    Router router;
    std::thread io_thread;

    explicit Relay(std::function<void(lsr::config::Config&)> adjust = {}) {
        char tmpl[] = "/tmp/lsr-routes-XXXXXX";
        dir = ::mkdtemp(tmpl);
        cfg.hub.secret = kSecret;
        cfg.hub.base_url = "https://hub.example";
        cfg.spool.path = (dir / "spool.db").string();
        cfg.segment.region = "custom";
        cfg.segment.endpoint = "http://127.0.0.1:9";
        if (adjust) adjust(cfg);
        std::error_code ec;
        std::string message;
        spool = Spool::open(cfg.spool, ec, message);
        REQUIRE(spool);
        dispatcher = std::make_unique<DeliveryDispatcher>(io, cfg.segment, cfg.spool, *spool, log, registry,
                                                          lsr::core::Clock::system());
        ctx.reset(new ServiceContext{cfg, log, registry, io, workers, *spool, *dispatcher, draining,
                                     std::chrono::steady_clock::now(), lsr::core::Clock::system()});
        execute = ExecuteHandler::create(*ctx);
        register_action_routes(router, *ctx, execute, cfg.hub.base_url);
        register_webhook_routes(router, *ctx, execute);
        io_thread = std::thread([this] { io.run(); });
    }
    ~Relay() {
        workers.join();
        std::promise<void> stopped;
        dispatcher->stop([&stopped] { stopped.set_value(); });
        stopped.get_future().wait_for(std::chrono::seconds(10));
        guard.reset();
        io.stop();
        io_thread.join();
        router = Router();
        dispatcher.reset();
        spool.reset();
        fs::remove_all(dir);
    }

    std::shared_ptr<FakeExchange> call(std::string path, std::string body,
                                       std::vector<std::pair<std::string, std::string>> headers) {
        auto m = router.match(http::verb::post, path);
        REQUIRE(m.route);
        http::request_header<> h;
        h.method(http::verb::post);
        h.target(path);
        for (const auto& [k, v] : headers) h.set(k, v);
        auto ex = std::make_shared<FakeExchange>(io, std::move(h), path, m.params, std::move(body),
                                                 m.route->pattern);
        m.route->handler(ex);
        REQUIRE(ex->wait());
        return ex;
    }
};

std::string auth() {
    return "Token token=\"n0nce/" + lsr::core::HubToken::sign(kSecret, "n0nce") + "\"";
}

std::string json_detail(int rows) {
    std::string data;
    for (int i = 0; i < rows; ++i) {
        if (i) data += ",";
        data += "{\"users.id\":{\"value\":" + std::to_string(i + 1) + "},\"users.plan\":{\"value\":\"pro\"}}";
    }
    return R"({"ran_at":"2026-11-30T10:00:00+00:00","fields":{"dimensions":[{"name":"users.id","tags":["user_id"]},)"
           R"({"name":"users.plan","tags":[]}]},"data":[)" +
           data + "]}";
}

std::string quoted(const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + "\"";
}

[[maybe_unused]] std::string execute_body(const std::string& result, const std::string& extra_plan = "") {
    return R"({"type":"query","scheduled_plan":{"scheduled_plan_id":3)" + extra_plan +
           R"(},"data":{"segment_write_key":"wk"},"attachment":{"mimetype":"application/json","extension":"json","data":)" +
           quoted(result) + "}}";
}

}  // namespace
