#include "server/ingest/looker_downloader.hpp"

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <future>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

using lsr::server::DownloadOutcome;
using lsr::server::LookerDownloader;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

// Answers one connection with `response` (raw bytes), after reading the request head.
class OneShotServer {
  public:
    explicit OneShotServer(std::string response, bool hang = false)
        : acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
        port_ = acceptor_.local_endpoint().port();
        thread_ = std::thread([this, response = std::move(response), hang] {
            boost::system::error_code ec;
            tcp::socket s(io_);
            acceptor_.accept(s, ec);
            if (ec) return;
            asio::streambuf buf;
            asio::read_until(s, buf, "\r\n\r\n", ec);
            std::istream is(&buf);
            std::getline(is, request_line_);
            if (!hang) asio::write(s, asio::buffer(response), ec);
            if (hang) std::this_thread::sleep_for(std::chrono::milliseconds(600));
            s.shutdown(tcp::socket::shutdown_both, ec);
        });
    }
    ~OneShotServer() {
        boost::system::error_code ec;
        acceptor_.close(ec);
        if (thread_.joinable()) thread_.join();
    }
    std::string url(std::string_view path) const {
        return "http://127.0.0.1:" + std::to_string(port_) + std::string(path);
    }
    const std::string& request_line() const { return request_line_; }

  private:
    asio::io_context io_;
    tcp::acceptor acceptor_;
    unsigned short port_ = 0;
    std::thread thread_;
    std::string request_line_;
};

struct Result {
    DownloadOutcome outcome;
    std::string body;
    int chunks = 0;
};

Result download(const lsr::config::DownloadConfig& cfg, const std::string& url,
                bool stop_after_first = false) {
    asio::io_context io;
    auto work = asio::make_work_guard(io);
    std::thread t([&] { io.run(); });
    std::promise<Result> done;
    auto result = std::make_shared<Result>();
    // The resuming threads hold the downloader (through `resume`): all are joined before the
    // io_context goes, so the downloader's strand never outlives it.
    std::mutex resumers_mutex;
    std::vector<std::thread> resumers;
    auto d = LookerDownloader::create(io, cfg, nullptr);
    d->start(
        url,
        [result, stop_after_first, &resumers_mutex, &resumers](std::string_view chunk,
                                                               LookerDownloader::Resume resume) {
            result->body.append(chunk);
            ++result->chunks;
            // Resume from another thread, as the execute pipeline does.
            std::lock_guard<std::mutex> lock(resumers_mutex);
            resumers.emplace_back([resume, stop_after_first] { resume(!stop_after_first); });
        },
        [result, &done](DownloadOutcome o) {
            result->outcome = std::move(o);
            done.set_value(*result);
        });
    auto f = done.get_future();
    REQUIRE(f.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
    auto r = f.get();
    d.reset();
    {
        std::lock_guard<std::mutex> lock(resumers_mutex);
        for (auto& th : resumers) th.join();
    }
    work.reset();
    io.stop();
    t.join();
    return r;
}

lsr::config::DownloadConfig loopback_cfg() {
    lsr::config::DownloadConfig cfg;
    cfg.allowed_hosts = {"127.0.0.1"};
    cfg.allow_loopback_http = true;
    cfg.timeout_ms = 5000;
    cfg.connect_timeout_ms = 2000;
    return cfg;
}

// The downloader's one check, as it calls it with hub.download's settings.
std::optional<lsr::core::DownloadUrl> check_url(std::string_view url, const lsr::config::DownloadConfig& cfg,
                                                std::string& err) {
    return lsr::core::DownloadUrl::check(url, cfg.allowed_hosts, cfg.allow_loopback_http, err);
}

}  // namespace

TEST_CASE("LookerDownloader checks the URL against the allowlist and scheme", "[looker_downloader]") {
    lsr::config::DownloadConfig cfg;
    cfg.allowed_hosts = {"looker.example.com", "*.cloud.looker.com", "127.0.0.1"};
    std::string err;
    auto u = check_url("https://Looker.example.com/download/abc?x=1", cfg, err);
    REQUIRE(u);
    CHECK(u->tls);
    CHECK(u->host == "looker.example.com");
    CHECK(u->port == 443);
    CHECK(u->target == "/download/abc?x=1");
    CHECK_FALSE(check_url("https://a.cloud.looker.com:19999/x", cfg, err));  // port not listed
    cfg.allowed_hosts.push_back("*.cloud.looker.com:19999");
    CHECK(check_url("https://a.cloud.looker.com:19999/x", cfg, err)->port == 19999);
    CHECK_FALSE(check_url("https://cloud.looker.com/x", cfg, err));
    CHECK_FALSE(check_url("https://evil.com/x", cfg, err));
    CHECK(err.find("not in hub.download.allowed_hosts") != std::string::npos);
    CHECK_FALSE(check_url("https://looker.example.com.evil.com/x", cfg, err));
    CHECK_FALSE(check_url("https://user:pw@looker.example.com/x", cfg, err));
    CHECK_FALSE(check_url("http://looker.example.com/x", cfg, err));
    CHECK(err == "The download_url must use https.");
    CHECK_FALSE(check_url("http://127.0.0.1:8000/x", cfg, err));  // loopback not allowed
    CHECK_FALSE(check_url("ftp://looker.example.com/x", cfg, err));
    CHECK_FALSE(check_url("looker.example.com/x", cfg, err));
    CHECK_FALSE(check_url("https://looker.example.com:0/x", cfg, err));
    CHECK_FALSE(check_url("https://looker.example.com:99999/x", cfg, err));
    cfg.allow_loopback_http = true;
    auto l = check_url("http://127.0.0.1:8000", cfg, err);
    REQUIRE(l);
    CHECK_FALSE(l->tls);
    CHECK(l->target == "/");
    cfg.allowed_hosts.push_back("::1");
    CHECK(check_url("http://[::1]:8000/a", cfg, err)->host == "::1");
    CHECK_FALSE(check_url("http://looker.example.com/x", cfg, err));
}

TEST_CASE("LookerDownloader streams a 200 body in chunks", "[looker_downloader]") {
    std::string body(2500 * 1024, 'x');  // more than two of the downloader's 1 MiB chunks
    for (std::size_t i = 0; i < body.size(); i += 7) body[i] = static_cast<char>('a' + i % 26);
    OneShotServer server("HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
                         body);
    auto r = download(loopback_cfg(), server.url("/dl/once?k=1"));
    CHECK(r.outcome.ok);
    CHECK(r.outcome.error.empty());
    CHECK(r.outcome.status == 200);
    CHECK(r.outcome.bytes == body.size());
    CHECK(r.body == body);
    CHECK(r.chunks >= 3);
    CHECK(server.request_line().rfind("GET /dl/once?k=1 HTTP/1.1", 0) == 0);
}

TEST_CASE("LookerDownloader reads chunked transfer encoding", "[looker_downloader]") {
    OneShotServer server(
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
    auto r = download(loopback_cfg(), server.url("/c"));
    CHECK(r.outcome.ok);
    CHECK(r.body == "hello world");
}

TEST_CASE("LookerDownloader fails on a non-200 without reading the body", "[looker_downloader]") {
    OneShotServer server("HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found");
    auto r = download(loopback_cfg(), server.url("/gone"));
    CHECK_FALSE(r.outcome.ok);
    CHECK(r.outcome.status == 404);
    CHECK(r.outcome.error == "There was an error with Action Hub calling back to Looker, status code: 404");
    CHECK(r.body.empty());
    CHECK(r.chunks == 0);
}

TEST_CASE("LookerDownloader fails on a truncated body", "[looker_downloader]") {
    OneShotServer server("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly a part");
    auto r = download(loopback_cfg(), server.url("/t"));
    CHECK_FALSE(r.outcome.ok);
    CHECK(r.outcome.error.find("reading the result from Looker") != std::string::npos);
}

TEST_CASE("LookerDownloader enforces max_bytes", "[looker_downloader]") {
    auto cfg = loopback_cfg();
    cfg.max_bytes = 10;
    OneShotServer server("HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n01234567890123456789");
    auto r = download(cfg, server.url("/big"));
    CHECK_FALSE(r.outcome.ok);
    CHECK(r.outcome.error.find("max_bytes") != std::string::npos);
}

TEST_CASE("LookerDownloader times out waiting for the answer", "[looker_downloader]") {
    auto cfg = loopback_cfg();
    cfg.timeout_ms = 200;
    OneShotServer server("", /*hang=*/true);
    auto t0 = std::chrono::steady_clock::now();
    auto r = download(cfg, server.url("/slow"));
    CHECK_FALSE(r.outcome.ok);
    CHECK(r.outcome.error.find("Timed out") != std::string::npos);
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(3));
}

TEST_CASE("LookerDownloader stops when the consumer says so", "[looker_downloader]") {
    std::string body(200 * 1024, 'y');
    OneShotServer server("HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
                         body);
    auto r = download(loopback_cfg(), server.url("/x"), /*stop_after_first=*/true);
    CHECK_FALSE(r.outcome.ok);
    CHECK(r.chunks == 1);
}

TEST_CASE("LookerDownloader refuses a disallowed URL without connecting", "[looker_downloader]") {
    auto cfg = loopback_cfg();
    cfg.allowed_hosts = {"looker.example.com"};
    auto r = download(cfg, "http://127.0.0.1:1/x");
    CHECK_FALSE(r.outcome.ok);
    CHECK(r.outcome.error.find("allowed_hosts") != std::string::npos);
}

TEST_CASE("LookerDownloader reports a refused connection", "[looker_downloader]") {
    asio::io_context io;
    tcp::acceptor a(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    auto port = a.local_endpoint().port();
    a.close();
    auto r = download(loopback_cfg(), "http://127.0.0.1:" + std::to_string(port) + "/x");
    CHECK_FALSE(r.outcome.ok);
    CHECK(r.outcome.error.find("connecting to Looker") != std::string::npos);
}

TEST_CASE("LookerDownloader follows a redirect to an allowed host", "[looker_downloader]") {
    OneShotServer target("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
    OneShotServer first("HTTP/1.1 302 Found\r\nLocation: " + target.url("/final?x=1") +
                        "\r\nContent-Length: 0\r\n\r\n");
    auto r = download(loopback_cfg(), first.url("/start"));
    CHECK(r.outcome.ok);
    CHECK(r.body == "hello");
    CHECK(target.request_line().rfind("GET /final?x=1 HTTP/1.1", 0) == 0);
}

TEST_CASE("LookerDownloader refuses a redirect to a host not allowed", "[looker_downloader]") {
    OneShotServer first(
        "HTTP/1.1 307 Temporary Redirect\r\nLocation: https://elsewhere.example/x\r\n"
        "Content-Length: 0\r\n\r\n");
    auto r = download(loopback_cfg(), first.url("/start"));
    CHECK_FALSE(r.outcome.ok);
    CHECK(r.outcome.error ==
          "Looker redirected the download: The download_url host \"elsewhere.example\" is not in "
          "hub.download.allowed_hosts.");
}

TEST_CASE("LookerDownloader treats a redirect without Location as a failure", "[looker_downloader]") {
    OneShotServer first("HTTP/1.1 302 Found\r\nContent-Length: 0\r\n\r\n");
    auto r = download(loopback_cfg(), first.url("/start"));
    CHECK_FALSE(r.outcome.ok);
    CHECK(r.outcome.error == "There was an error with Action Hub calling back to Looker, status code: 302");
}

TEST_CASE("LookerDownloader reads a body that ends with the connection", "[looker_downloader]") {
    OneShotServer server("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end");
    auto r = download(loopback_cfg(), server.url("/eof"));
    CHECK(r.outcome.ok);
    CHECK(r.body == "until the end");
}

TEST_CASE("LookerDownloader refuses a URL with CR LF without connecting", "[looker_downloader]") {
    asio::io_context io;
    tcp::acceptor a(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    const auto port = std::to_string(a.local_endpoint().port());
    a.non_blocking(true);
    auto r = download(loopback_cfg(), "http://127.0.0.1:" + port + "/x HTTP/1.1\r\nX-Injected: 1\r\nX: y");
    CHECK_FALSE(r.outcome.ok);
    CHECK(r.outcome.error == "The download_url contains a space.");
    r = download(loopback_cfg(), "http://127.0.0.1:" + port + "/x\r\nX-Injected: 1");
    CHECK(r.outcome.error == "The download_url contains a control character.");
    boost::system::error_code ec;
    tcp::socket s(io);
    a.accept(s, ec);
    CHECK(ec == asio::error::would_block);  // nobody connected
}

TEST_CASE("LookerDownloader hands over what arrived before the rest comes", "[looker_downloader]") {
    asio::io_context sio;
    tcp::acceptor acceptor(sio, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    const auto port = acceptor.local_endpoint().port();
    std::atomic<bool> rest_sent{false};
    std::promise<void> first_seen;
    auto first_seen_f = first_seen.get_future();
    std::thread server([&] {
        boost::system::error_code ec;
        tcp::socket s(sio);
        acceptor.accept(s, ec);
        if (ec) return;
        asio::streambuf buf;
        asio::read_until(s, buf, "\r\n\r\n", ec);
        asio::write(s, asio::buffer(std::string("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello")), ec);
        // The rest only once the first part was handed over (or after a generous wait).
        first_seen_f.wait_for(std::chrono::seconds(5));
        rest_sent = true;
        asio::write(s, asio::buffer(std::string("world")), ec);
        s.shutdown(tcp::socket::shutdown_both, ec);
    });
    asio::io_context io;
    auto work = asio::make_work_guard(io);
    std::thread t([&] { io.run(); });
    std::promise<DownloadOutcome> done;
    std::string body;
    bool first_before_rest = false;
    int chunks = 0;
    const auto cfg = loopback_cfg();  // the downloader keeps a reference
    auto d = LookerDownloader::create(io, cfg, nullptr);
    d->start(
        "http://127.0.0.1:" + std::to_string(port) + "/slow",
        [&](std::string_view chunk, LookerDownloader::Resume resume) {
            if (chunks++ == 0) {
                first_before_rest = !rest_sent.load();
                first_seen.set_value();
            }
            body.append(chunk);
            resume(true);
        },
        [&](DownloadOutcome o) { done.set_value(std::move(o)); });
    auto f = done.get_future();
    REQUIRE(f.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
    auto outcome = f.get();
    work.reset();
    io.stop();
    t.join();
    server.join();
    CHECK(outcome.ok);
    CHECK(body == "helloworld");
    CHECK(first_before_rest);
}

TEST_CASE("LookerDownloader is cancelled from another thread while several threads run its io_context",
          "[looker_downloader]") {
    // Its state lives on its strand alone: start and cancel come from other threads, the
    // handlers may run on either io thread. Wherever the cancel lands, the outcome is the same.
    asio::io_context io;
    // Listening but never accepting: the kernel completes the connection, no answer comes.
    tcp::acceptor silent(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    const std::string url = "http://127.0.0.1:" + std::to_string(silent.local_endpoint().port()) + "/slow";
    auto work = asio::make_work_guard(io);
    std::thread t1([&] { io.run(); });
    std::thread t2([&] { io.run(); });
    std::promise<DownloadOutcome> done;
    const auto cfg = loopback_cfg();  // the downloader keeps a reference
    auto d = LookerDownloader::create(io, cfg, nullptr);
    d->start(
        url, [](std::string_view, LookerDownloader::Resume resume) { resume(true); },
        [&done](DownloadOutcome o) { done.set_value(std::move(o)); });
    std::thread([d] {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        d->cancel();
    }).join();
    auto f = done.get_future();
    REQUIRE(f.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
    const DownloadOutcome o = f.get();
    CHECK_FALSE(o.ok);
    CHECK(o.error == "The download from Looker was cancelled.");
    d.reset();
    work.reset();
    io.stop();
    t1.join();
    t2.join();
}

TEST_CASE("LookerDownloader hands a fast result over in large chunks, not per read", "[looker_downloader]") {
    // 4 MiB sent at once, chunked on the wire in 16 KiB pieces as a streaming server would.
    std::string body;
    std::string wire = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (int i = 0; body.size() < (4u << 20); ++i) {
        const std::string piece(16 * 1024, static_cast<char>('a' + i % 26));
        body += piece;
        char line[16];
        std::snprintf(line, sizeof line, "%zx\r\n", piece.size());
        wire += line + piece + "\r\n";
    }
    wire += "0\r\n\r\n";
    OneShotServer server(wire);
    auto r = download(loopback_cfg(), server.url("/fast"));
    INFO(r.outcome.error);
    CHECK(r.outcome.ok);
    CHECK(r.body == body);
    CHECK(r.outcome.bytes == body.size());
    // 1 MiB chunks (a slow moment may cut one short): far fewer than one per 64 KiB read.
    CHECK(r.chunks >= 4);
    CHECK(r.chunks <= 12);
}

TEST_CASE("LookerDownloader hands over what was received before a truncated end", "[looker_downloader]") {
    OneShotServer server("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly a part");
    auto r = download(loopback_cfg(), server.url("/t"));
    CHECK_FALSE(r.outcome.ok);
    CHECK(r.body == "only a part");
    CHECK(r.outcome.bytes == 11);
}
