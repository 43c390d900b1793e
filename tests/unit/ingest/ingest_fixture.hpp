// In-process pieces for the ingest tests: a real spool in a temp dir, an ExecuteReply that
// records the answer instead of a socket, and the job's dependencies around them.
#pragma once

#include <prometheus/registry.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/manual_clock.hpp"
#include "server/ingest/execute_deps.hpp"
#include "server/ingest/execute_reply.hpp"
#include "server/ingest/ingest_metrics.hpp"
#include "server/ingest/settled_ledger.hpp"
#include "server/net/logger.hpp"
#include "server/storage/spool.hpp"

namespace ingest_test {

namespace asio = boost::asio;
namespace fs = std::filesystem;

struct TempDir {
    fs::path dir;
    TempDir() {
        std::string tmpl = (fs::temp_directory_path() / "lsr-ingest-test-XXXXXX").string();
        REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
        dir = tmpl;
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(dir, ec);
    }
};

inline std::unique_ptr<lsr::server::Spool> open_spool(const fs::path& dir,
                                                      std::uint64_t max_bytes = 1ull << 30) {
    lsr::config::SpoolConfig cfg;
    cfg.path = (dir / "spool.db").string();
    cfg.max_bytes = max_bytes;
    std::error_code ec;
    std::string message;
    auto spool = lsr::server::Spool::open(cfg, ec, message);
    REQUIRE(spool);
    return spool;
}

// Records the answer; wait() blocks until it ended.
class FakeReply final : public lsr::server::ExecuteReply {
  public:
    FakeReply(asio::io_context& io, std::string body, std::map<std::string, std::string> headers = {})
        : io_(io), body_(std::move(body)), headers_(std::move(headers)) {}

    const std::string& body() const override { return body_; }
    const std::string& body_file() const override { return file_; }
    std::string header(std::string_view name) const override {
        auto it = headers_.find(std::string(name));
        return it == headers_.end() ? std::string() : it->second;
    }
    asio::any_io_executor executor() override { return io_.get_executor(); }
    void on_stop(std::function<void(lsr::server::ExecuteStop)> callback) override {
        std::lock_guard lock(mutex_);
        stop_ = std::move(callback);
    }

    void respond(int status, std::string body, bool retry_after) override {
        std::lock_guard lock(mutex_);
        ++answers_;
        status_ = status;
        out_ = std::move(body);
        retry_after_ = retry_after;
        done_ = true;
        cv_.notify_all();
    }
    void begin_stream() override {
        std::lock_guard lock(mutex_);
        ++answers_;
        status_ = 200;
        streamed_ = true;
    }
    void keepalive() override {
        std::lock_guard lock(mutex_);
        out_ += "\n";
    }
    void end_stream(std::string body) override {
        std::lock_guard lock(mutex_);
        out_ += body;
        done_ = true;
        cv_.notify_all();
    }

    void stop(lsr::server::ExecuteStop why) {
        std::function<void(lsr::server::ExecuteStop)> cb;
        {
            std::lock_guard lock(mutex_);
            cb = stop_;
        }
        if (cb) cb(why);
    }
    bool wait(std::chrono::seconds limit = std::chrono::seconds(20)) {
        std::unique_lock lock(mutex_);
        return cv_.wait_for(lock, limit, [&] { return done_; });
    }
    bool done() {
        std::lock_guard lock(mutex_);
        return done_;
    }
    int status() {
        std::lock_guard lock(mutex_);
        return status_;
    }
    std::string out() {
        std::lock_guard lock(mutex_);
        return out_;
    }
    bool retry_after() {
        std::lock_guard lock(mutex_);
        return retry_after_;
    }
    int answers() {
        std::lock_guard lock(mutex_);
        return answers_;
    }

  private:
    asio::io_context& io_;
    std::string body_;
    std::string file_;
    std::map<std::string, std::string> headers_;
    std::mutex mutex_;
    std::condition_variable cv_;
    std::function<void(lsr::server::ExecuteStop)> stop_;
    int answers_ = 0;
    int status_ = 0;
    std::string out_;
    bool retry_after_ = false;
    bool streamed_ = false;
    bool done_ = false;
};

// The job's dependencies around a real spool; an io thread for the timers, two workers.
struct Ingest {
    lsr::config::Config cfg;
    TempDir tmp;
    lsr::server::Logger log{lsr::server::LogLevel::error};
    prometheus::Registry registry;
    lsr::server::IngestMetrics metrics{registry};
    lsr::core::ManualClock clock;
    asio::io_context io;
    asio::executor_work_guard<asio::io_context::executor_type> guard{io.get_executor()};
    asio::thread_pool workers{2};
    std::unique_ptr<lsr::server::Spool> spool;
    std::atomic<bool> draining{false};
    lsr::server::SettledLedger settled;
    std::mutex mutex;
    std::vector<std::string> notified;  // write keys the job said were spooled
    std::shared_ptr<lsr::server::ExecuteDeps> deps;
    std::thread io_thread;

    explicit Ingest(std::function<void(lsr::config::Config&)> adjust = {}) {
        cfg.segment.default_write_key = "wk-default";
        if (adjust) adjust(cfg);
        spool = open_spool(tmp.dir);
        deps = std::make_shared<lsr::server::ExecuteDeps>(
            lsr::server::ExecuteDeps{cfg,
                                     log,
                                     metrics,
                                     clock,
                                     io,
                                     workers.get_executor(),
                                     *spool,
                                     draining,
                                     settled,
                                     [this](const std::string& key) {
                                         std::lock_guard lock(mutex);
                                         notified.push_back(key);
                                     },
                                     nullptr,
                                     {}});
        io_thread = std::thread([this] { io.run(); });
    }
    ~Ingest() {
        workers.join();
        guard.reset();
        io.stop();
        io_thread.join();
    }
    std::vector<std::string> notifications() {
        std::lock_guard lock(mutex);
        return notified;
    }
};

}  // namespace ingest_test
