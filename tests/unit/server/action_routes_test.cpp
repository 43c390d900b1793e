// The Action API and webhook routes in process: the router, a fake exchange instead of a
// socket, a real spool in a temp dir and a dispatcher that is never started (so every
// accepted batch stays in the spool, where the test counts it).
#include "server/action_routes.hpp"

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

#include "core/hub_token.hpp"
#include "server/delivery_dispatcher.hpp"
#include "server/execute_handler.hpp"
#include "server/logger.hpp"
#include "server/spool.hpp"
#include "server/webhook_routes.hpp"

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
        dispatcher = std::make_unique<DeliveryDispatcher>(io, cfg.segment, cfg.spool, *spool, log, registry);
        ctx.reset(new ServiceContext{cfg, log, registry, io, workers, *spool, *dispatcher, draining,
                                     std::chrono::steady_clock::now()});
        execute = ExecuteHandler::create(*ctx);
        register_action_routes(router, *ctx, execute);
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

std::string execute_body(const std::string& result, const std::string& extra_plan = "") {
    return R"({"type":"query","scheduled_plan":{"scheduled_plan_id":3)" + extra_plan +
           R"(},"data":{"segment_write_key":"wk"},"attachment":{"mimetype":"application/json","extension":"json","data":)" +
           quoted(result) + "}}";
}

}  // namespace

TEST_CASE("Action routes refuse bad tokens with the hub's 403", "[action_routes]") {
    Relay relay;
    for (const std::string& header :
         {std::string(), std::string("Token abc"), std::string("Token token=\"abc\""),
          std::string("Token token=\"n0nce/abc\""),
          std::string("Token token=\"n0nce/") + std::string(128, 'a') + "\""}) {
        for (const char* path : {"/", "/actions/segment_event", "/actions/segment_track/form",
                                 "/actions/segment_event/execute"}) {
            std::vector<std::pair<std::string, std::string>> headers;
            if (!header.empty()) headers.emplace_back("Authorization", header);
            auto ex = relay.call(path, "{}", headers);
            CHECK(ex->status() == http::status::forbidden);
            CHECK(ex->out() == R"({"success":false,"error":"Invalid 'Authorization' header."})");
        }
    }
}

TEST_CASE("Action routes list, describe and form", "[action_routes]") {
    Relay relay;
    auto list =
        relay.call("/", "", {{"Authorization", auth()}, {"User-Agent", "LookerOutgoingWebhook/5.0.0"}});
    CHECK(list->status() == http::status::ok);
    CHECK(list->out().find("\"segment_event\"") != std::string::npos);
    CHECK(list->out().find("\"segment_track\"") == std::string::npos);
    auto one = relay.call("/actions/segment_group", "", {{"Authorization", auth()}});
    CHECK(one->out().find(R"("tag":"segment_group_id")") != std::string::npos);
    auto missing = relay.call("/actions/other", "", {{"Authorization", auth()}});
    CHECK(missing->status() == http::status::not_found);
    CHECK(missing->out() == R"({"success":false,"error":"No action found with name other."})");
    auto form = relay.call("/actions/segment_track/form", R"({"data":{"segment_write_key":"k"}})",
                           {{"Authorization", auth()}});
    CHECK(form->out().rfind(R"({"fields":[{"name":"event")", 0) == 0);
    auto no_form = relay.call("/actions/segment_event/form", "", {{"Authorization", auth()}});
    CHECK(no_form->out() == R"({"success":false,"error":"No form defined for action."})");
}

TEST_CASE("Execute spools the events and answers with the counts", "[action_routes]") {
    Relay relay;
    auto ex = relay.call("/actions/segment_event/execute", execute_body(json_detail(3)),
                         {{"Authorization", auth()}});
    CHECK(ex->status() == http::status::ok);
    CHECK(
        ex->out() ==
        R"({"looker":{"success":true,"message":"3 rows: 3 accepted, 0 rejected.","refresh_query":false,"validation_errors":{}}})");
    CHECK(ex->answers() == 1);
    auto stats = relay.spool->stats();
    CHECK(stats.events == 3);
    CHECK(stats.batches == 1);
}

TEST_CASE("Execute validation answers 404 with the hub's texts", "[action_routes]") {
    Relay relay;
    auto run = [&](const std::string& body) {
        auto ex = relay.call("/actions/segment_event/execute", body, {{"Authorization", auth()}});
        CHECK(ex->status() == http::status::not_found);
        return ex->out();
    };
    CHECK(
        run(R"({"data":{"segment_write_key":"k"}})") ==
        R"({"success":false,"error":"No request type specified. The request must be of type: \"query\"."})");
    CHECK(
        run(R"({"type":"cell"})") ==
        R"({"success":false,"error":"This action does not support requests of type \"cell\". The request must be of type: \"query\"."})");
    CHECK(
        run(R"({"type":"query","data":{}})") ==
        R"({"success":false,"error":"Required setting \"Segment Write Key\" not specified in action settings."})");
    CHECK(
        run(R"({"type":"query","data":{"segment_write_key":"k"}})") ==
        R"({"success":false,"error":"A streaming action was sent incompatible data. The action must have a download url or an attachment."})");
    CHECK(run("") == R"({"success":false,"error":"Request body must be valid JSON."})");
    CHECK(relay.spool->stats().events == 0);
}

TEST_CASE("Execute answers 503 with Retry-After when the spool is full", "[action_routes]") {
    Relay relay([](lsr::config::Config& c) {
        c.spool.max_bytes = 1024 * 1024;  // the spool's files on disk
        c.segment.max_batch_events = 100;
    });
    auto ex = relay.call("/actions/segment_event/execute", execute_body(json_detail(10000)),
                         {{"Authorization", auth()}});
    CHECK(ex->status() == http::status::service_unavailable);
    CHECK(ex->retry_after() == "30");
    auto stats = relay.spool->stats();
    CHECK(stats.events > 0);
    CHECK(stats.events < 10000);
    CHECK(ex->out().find(std::to_string(stats.events) +
                         " rows were accepted before that and will be delivered.") != std::string::npos);
}

TEST_CASE("Execute keeps the connection alive and always ends with JSON", "[action_routes]") {
    // A "Looker" that accepts the download and never answers.
    asio::io_context lio;
    asio::ip::tcp::acceptor acceptor(lio, {asio::ip::make_address("127.0.0.1"), 0});
    auto port = acceptor.local_endpoint().port();
    asio::ip::tcp::socket held(lio);
    std::thread looker([&] {
        boost::system::error_code ec;
        acceptor.accept(held, ec);
    });
    Relay relay([](lsr::config::Config& c) {
        c.server.execute_keepalive_ms = 30;
        c.hub.download.allowed_hosts = {"127.0.0.1"};
        c.hub.download.allow_loopback_http = true;
        c.hub.download.timeout_ms = 400;
    });
    std::string body = R"({"type":"query","scheduled_plan":{"download_url":"http://127.0.0.1:)" +
                       std::to_string(port) + R"(/dl"},"data":{"segment_write_key":"k"}})";
    auto ex = relay.call("/actions/segment_event/execute", body, {{"Authorization", auth()}});
    looker.join();
    CHECK(ex->streamed());
    CHECK(ex->status() == http::status::ok);
    std::string out = ex->out();
    REQUIRE(out.size() > 3);
    CHECK(out.substr(0, 3) == "\n\n\n");
    auto json = out.substr(out.find_first_not_of('\n'));
    CHECK(json.rfind(R"({"looker":{"success":false,"message":"Timed out waiting for Looker's answer)", 0) ==
          0);
    CHECK(json.back() == '}');
}

TEST_CASE("Webhook routes check their own token", "[webhook_routes]") {
    Relay relay([](lsr::config::Config& c) {
        lsr::config::WebhookRoute r;
        r.name = "crm";
        r.path = "/webhooks/crm";
        r.token = "tok-crm";
        r.write_key = "wk-crm";
        r.identity.user_id = "id";
        c.webhooks.push_back(r);
    });
    std::string body =
        R"({"type":"query","attachment":{"mimetype":"text/csv","extension":"csv","data":"id,plan\n1,pro\n2,free\n"}})";
    auto denied = relay.call("/webhooks/crm", body, {{"X-Looker-Webhook-Token", "tok-crm2"}});
    CHECK(denied->status() == http::status::forbidden);
    CHECK(denied->out() == R"({"success":false,"error":"Invalid 'X-Looker-Webhook-Token' header."})");
    auto hub = relay.call("/webhooks/crm", body, {{"Authorization", auth()}});
    CHECK(hub->status() == http::status::forbidden);
    auto ok = relay.call("/webhooks/crm", body, {{"X-Looker-Webhook-Token", "tok-crm"}});
    CHECK(ok->status() == http::status::ok);
    CHECK(
        ok->out() ==
        R"({"looker":{"success":true,"message":"2 rows: 2 accepted, 0 rejected.","refresh_query":false,"validation_errors":{}}})");
    // The dispatcher may have leased the batch already; the spool still counts it.
    CHECK(relay.spool->stats().events == 2);
    CHECK(relay.spool->stats().batches == 1);
}

TEST_CASE("ExecuteHandler bodies", "[execute_handler]") {
    CHECK(ExecuteHandler::looker_body(true, "") ==
          R"({"looker":{"success":true,"refresh_query":false,"validation_errors":{}}})");
    CHECK(
        ExecuteHandler::looker_body(false, "a \"b\"\n") ==
        R"({"looker":{"success":false,"message":"a \"b\"\n","refresh_query":false,"validation_errors":{}}})");
    CHECK(ExecuteHandler::error_body("x") == R"({"success":false,"error":"x"})");
}
