// GET /runs and GET /runs/{id}: paging, the JSON of RunRecordJson, 404 and 400, and that they
// are registered wherever /status is.
#include "server/service/runs_routes.hpp"

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
#include "server/service/operator_routes.hpp"
#include "server/storage/run_record_json.hpp"
#include "server/storage/spool.hpp"
#include "server/storage/sync_store.hpp"

namespace asio = boost::asio;
namespace fs = std::filesystem;
using namespace lsr::server;
using namespace std::chrono_literals;

namespace {

// A GET with a query string and the route's path parameters, answered once.
class Get final : public HttpExchange {
  public:
    Get(asio::io_context& io, std::string target, RouteMatch match, std::string authorization = {})
        : io_(io), match_(std::move(match)) {
        header_.method(http::verb::get);
        if (!authorization.empty()) header_.set(http::field::authorization, authorization);
        header_.target(target);
        path_ = target.substr(0, target.find('?'));
    }

    const http::request_header<>& header() const override { return header_; }
    std::string_view path() const override { return path_; }
    std::string_view path_param(std::string_view name) const override {
        for (const auto& [k, v] : match_.params)
            if (k == name) return v;
        return {};
    }
    std::string_view remote_address() const override { return "127.0.0.1"; }
    const std::string& route_label() const override { return match_.route->pattern; }
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

    std::pair<http::status, std::string> wait() {
        std::unique_lock lock(mu_);
        cv_.wait_for(lock, 10s, [&] { return answered_; });
        return {status_, out_};
    }

  private:
    asio::io_context& io_;
    RouteMatch match_;
    http::request_header<> header_;
    std::string path_;
    std::string none_;
    mutable std::mutex mu_;
    std::condition_variable cv_;
    bool answered_ = false;
    http::status status_ = http::status::unknown;
    std::string out_;
};

struct Service {
    fs::path dir = fs::temp_directory_path() / ("lsr-runs-routes-" + std::to_string(::getpid()));
    lsr::config::Config cfg;
    std::unique_ptr<Spool> spool;
    lsr::core::ManualClock clock{1'800'000'000'000};
    Logger log{LogLevel::error};
    prometheus::Registry registry;
    asio::io_context io;
    asio::executor_work_guard<asio::io_context::executor_type> guard{io.get_executor()};
    asio::thread_pool workers{1};
    asio::thread_pool reads{1};
    std::atomic<bool> draining{false};
    std::unique_ptr<DeliveryDispatcher> dispatcher;
    std::unique_ptr<ServiceContext> ctx;
    Router main;
    Router admin;
    std::thread io_thread;

    Service() {
        fs::remove_all(dir);
        cfg.spool.path = (dir / "spool.db").string();
        cfg.hub.secret = "runs-routes-test-secret-0123456789abcdef";
        cfg.segment.region = "custom";
        cfg.segment.endpoint = "http://127.0.0.1:9";
        std::error_code ec;
        std::string message;
        spool = Spool::open(cfg.spool, ec, message);
        REQUIRE(spool);
        dispatcher =
            std::make_unique<DeliveryDispatcher>(io, cfg.segment, cfg.spool, *spool, log, registry, clock);
        ctx.reset(new ServiceContext{cfg, log, registry, io, workers, *spool, *dispatcher, draining,
                                     clock.steady(), clock});
        register_operator_routes({&main, &admin}, *ctx, clock, reads);
        io_thread = std::thread([this] { io.run(); });
    }
    ~Service() {
        reads.join();
        guard.reset();
        io.stop();
        io_thread.join();
        dispatcher.reset();
        workers.join();
        spool.reset();
        std::error_code ec;
        fs::remove_all(dir, ec);
    }

    // On the admin listener unless said otherwise (the main one asks for a hub token).
    std::pair<http::status, std::string> get(const std::string& target, Router* router = nullptr,
                                             std::string authorization = {}) {
        Router& r = router ? *router : admin;
        auto m = r.match(http::verb::get, target.substr(0, target.find('?')));
        REQUIRE(m.route);
        auto ex = std::make_shared<Get>(io, target, m, std::move(authorization));
        m.route->handler(ex);
        return ex->wait();
    }

    // A finished run of plan `plan`, received at `received_ms`.
    std::int64_t add_run(const std::string& plan, std::int64_t received_ms) {
        SyncStore store(*spool);
        RunRecord r;
        r.request_id = "req-" + plan;
        r.received_ms = received_ms;
        r.instance = "looker.example.com";
        r.plan_id = plan;
        r.title = "Plan " + plan;
        r.action = "segment_event";
        r.sync_mode = "changes";
        REQUIRE_FALSE(store.begin_run(r));
        r.finished_ms = received_ms + 500;
        r.outcome = "done";
        r.rows = 10;
        r.accepted = 9;
        r.rejected = 1;
        r.rejected_by_reason = {{"no identity", 1}};
        r.added = 2;
        r.unchanged = 7;
        r.success = true;
        r.answer = "10 rows";
        REQUIRE_FALSE(store.finish_run(r));
        return r.id;
    }
};

std::vector<std::int64_t> ids_of(const std::string& page) {
    std::vector<std::int64_t> out;
    for (std::size_t at = page.find("{\"id\":"); at != std::string::npos; at = page.find("{\"id\":", at + 1))
        out.push_back(std::stoll(page.substr(at + 6)));
    return out;
}

}  // namespace

TEST_CASE("RunsQuery reads before and limit", "[runs_routes]") {
    std::string error;
    auto q = RunsQuery::parse("", &error);
    REQUIRE(q);
    CHECK(q->before == 0);
    CHECK(q->limit == 50);
    q = RunsQuery::parse("before=12&limit=3&other=x", &error);
    REQUIRE(q);
    CHECK(q->before == 12);
    CHECK(q->limit == 3);
    q = RunsQuery::parse("limit=100000", &error);
    REQUIRE(q);
    CHECK(q->limit == 500);
    for (const char* bad : {"limit=0", "limit=", "limit=-1", "before=abc", "before=1e3",
                            "limit=9999999999999999999", "before"}) {
        INFO(bad);
        CHECK_FALSE(RunsQuery::parse(bad, &error));
        CHECK(error.find("must be a positive integer") != std::string::npos);
    }
    CHECK(parse_run_id("7") == 7);
    CHECK_FALSE(parse_run_id("0"));
    CHECK_FALSE(parse_run_id("x1"));
    CHECK_FALSE(parse_run_id(""));
    CHECK_FALSE(parse_run_id("1234567890123456789"));
}

TEST_CASE("GET /runs pages newest first; GET /runs/{id} is RunRecordJson", "[runs_routes]") {
    Service s;
    const auto a = s.add_run("1", 1'800'000'000'000);
    const auto b = s.add_run("2", 1'800'000'001'000);
    const auto c = s.add_run("3", 1'800'000'002'000);

    auto [status, all] = s.get("/runs");
    CHECK(status == http::status::ok);
    CHECK(ids_of(all) == std::vector<std::int64_t>{c, b, a});
    CHECK(all.substr(all.size() - 13) == ",\"next\":null}");
    SyncStore store(*s.spool);
    CHECK(all == RunRecordJson::page(store.list_runs(0, 50), 0));

    auto [s2, first] = s.get("/runs?limit=2");
    CHECK(s2 == http::status::ok);
    CHECK(ids_of(first) == std::vector<std::int64_t>{c, b});
    CHECK(first.find("\"next\":\"/runs?before=" + std::to_string(b) + "\"") != std::string::npos);
    auto [s3, second] = s.get("/runs?limit=2&before=" + std::to_string(b));
    CHECK(s3 == http::status::ok);
    CHECK(ids_of(second) == std::vector<std::int64_t>{a});
    CHECK(second.find("\"next\":null") != std::string::npos);

    auto [s4, one] = s.get("/runs/" + std::to_string(b));
    CHECK(s4 == http::status::ok);
    CHECK(one == RunRecordJson::object(*store.run(b)));
    CHECK(one.find("\"plan_id\":\"2\"") != std::string::npos);
    CHECK(one.find("\"rejected_by_reason\":{\"no identity\":1}") != std::string::npos);
}

TEST_CASE("GET /runs answers 404 for an unknown run and 400 for a bad id or query", "[runs_routes]") {
    Service s;
    s.add_run("1", 1'800'000'000'000);
    auto [unknown, body] = s.get("/runs/999");
    CHECK(unknown == http::status::not_found);
    CHECK(body == R"({"success":false,"error":"no run 999 in the history"})");
    auto [bad, bad_body] = s.get("/runs/abc");
    CHECK(bad == http::status::bad_request);
    CHECK(bad_body == R"({"success":false,"error":"a run id is a positive integer, not \"abc\""})");
    CHECK(s.get("/runs/0").first == http::status::bad_request);
    auto [bad_query, query_body] = s.get("/runs?limit=lots");
    CHECK(bad_query == http::status::bad_request);
    CHECK(query_body == R"({"success":false,"error":"limit must be a positive integer, not \"lots\""})");
    CHECK(s.get("/runs?before=-3").first == http::status::bad_request);
}

TEST_CASE("/runs is open on the admin listener and asks for a hub token on the main one", "[runs_routes]") {
    Service s;
    for (Router* r : {&s.main, &s.admin}) {
        CHECK(r->match(http::verb::get, "/status").route);
        CHECK(r->match(http::verb::get, "/runs").route);
        CHECK(r->match(http::verb::get, "/runs/1").route);
        CHECK(r->match(http::verb::post, "/runs").method_mismatch);
    }
    auto [status, empty] = s.get("/runs", &s.admin);
    CHECK(status == http::status::ok);
    CHECK(empty == R"({"runs":[],"next":null})");
    const std::string refused =
        R"({"success":false,"error":"the run history needs a hub token (Authorization: Token token=\"...\") on this listener, or the admin listener"})";
    for (const char* target : {"/runs", "/runs/1"}) {
        auto [code, body] = s.get(target, &s.main);
        CHECK(code == http::status::forbidden);
        CHECK(body == refused);
        CHECK(s.get(target, &s.main, "Token token=\"not-a-token\"").first == http::status::forbidden);
    }
    const std::string token = lsr::core::HubToken::make_token(s.cfg.hub.secret);
    CHECK(s.get("/runs", &s.main, "Token token=\"" + token + "\"").first == http::status::ok);
}

TEST_CASE("/status shows the size of the sync baselines", "[runs_routes]") {
    Service s;
    SyncStore store(*s.spool);
    RunRecord r;
    r.received_ms = s.clock.unix_ms();
    r.plan_id = "7";
    REQUIRE_FALSE(store.begin_run(r));
    RunCommit commit;
    commit.run_id = r.id;
    commit.key = {"looker.example.com", "7", "segment_event", "wk_status"};
    commit.title = "Seven";
    commit.mode = "changes";
    commit.generation = 1;
    commit.now_ms = s.clock.unix_ms();
    std::int64_t baseline_id = 0;
    REQUIRE_FALSE(store.commit_run(commit, &baseline_id));
    const SyncTotals totals = store.totals();
    CHECK(totals.baselines == 1);
    auto [status, body] = s.get("/status");
    CHECK(status == http::status::ok);
    CHECK(body.find(",\"sync\":{\"baselines\":1,\"rows\":" + std::to_string(totals.rows) +
                    ",\"bytes\":" + std::to_string(totals.bytes) + "},\"delivery\":") != std::string::npos);
}
