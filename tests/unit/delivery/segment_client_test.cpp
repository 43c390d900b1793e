// GCC 12 reports a false "potential null pointer dereference" inside Asio's executor
// comparison (any_executor::equal_ex); the pragma must precede the includes to reach it.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wnull-dereference"
#endif

#include "server/delivery/segment_client.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <catch2/catch.hpp>
#include <future>
#include <thread>

#include "core/delivery/body_compressor.hpp"
#include "core/manual_clock.hpp"
#include "segment_stand_in.hpp"
#include "segment_tls_stand_in.hpp"
#include "server/delivery/segment_endpoint.hpp"

using lsr::server::SegmentClient;
using lsr::server::SegmentEndpoint;
using lsr::server::SegmentResponse;
using lsr::server::SegmentSend;
using lsr::test::SegmentStandIn;
using lsr::test::StandInAnswer;
using namespace std::chrono_literals;

namespace {

// An io_context on its own thread for the client under test.
struct IoThread {
    boost::asio::io_context io;
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard{io.get_executor()};
    std::thread thread{[this] { io.run(); }};
    ~IoThread() {
        guard.reset();
        io.stop();
        thread.join();
    }
};

lsr::config::SegmentConfig custom(const std::string& url) {
    lsr::config::SegmentConfig cfg;
    cfg.region = "custom";
    cfg.endpoint = url;
    cfg.connect_timeout_ms = 2000;
    cfg.request_timeout_ms = 2000;
    return cfg;
}

SegmentResponse send_and_wait(SegmentClient& client, SegmentSend s, std::chrono::milliseconds limit = 5s) {
    auto done = std::make_shared<std::promise<SegmentResponse>>();
    auto f = done->get_future();
    client.send(std::move(s), [done](SegmentResponse r) { done->set_value(std::move(r)); });
    REQUIRE(f.wait_for(limit) == std::future_status::ready);
    return f.get();
}

SegmentSend batch(std::string body = R"({"type":"identify","userId":"u1"})", std::uint32_t retry = 0) {
    return SegmentSend{"wk_test", std::make_shared<const std::string>(std::move(body)), retry};
}

}  // namespace

TEST_CASE("SegmentEndpoint: regions and custom URLs") {
    std::string err;
    lsr::config::SegmentConfig cfg;
    auto us = SegmentEndpoint::from_config(cfg, err);
    REQUIRE(us);
    CHECK(us->tls());
    CHECK(us->host() == "api.segment.io");
    CHECK(us->port() == "443");
    CHECK(us->host_header() == "api.segment.io");
    CHECK(us->batch_target() == "/v1/batch");
    CHECK(us->url() == "https://api.segment.io");
    cfg.region = "eu";
    auto eu = SegmentEndpoint::from_config(cfg, err);
    REQUIRE(eu);
    CHECK(eu->host() == "events.eu1.segmentapis.com");
    CHECK(eu->url() == "https://events.eu1.segmentapis.com");

    auto c = SegmentEndpoint::from_config(custom("http://127.0.0.1:8099/proxy/"), err);
    REQUIRE(c);
    CHECK_FALSE(c->tls());
    CHECK(c->port() == "8099");
    CHECK(c->host_header() == "127.0.0.1:8099");
    CHECK(c->batch_target() == "/proxy/v1/batch");
    auto v6 = SegmentEndpoint::parse_url("https://[::1]:8443", err);
    REQUIRE(v6);
    CHECK(v6->host() == "::1");
    CHECK(v6->host_header() == "[::1]:8443");
    auto plain80 = SegmentEndpoint::parse_url("http://relay.internal", err);
    REQUIRE(plain80);
    CHECK(plain80->port() == "80");
    CHECK(plain80->host_header() == "relay.internal");
}

TEST_CASE("SegmentEndpoint: invalid settings are refused with a reason") {
    std::string err;
    lsr::config::SegmentConfig cfg;
    cfg.region = "asia";
    CHECK_FALSE(SegmentEndpoint::from_config(cfg, err));
    CHECK(err.find("us, eu or custom") != std::string::npos);
    cfg.region = "custom";
    CHECK_FALSE(SegmentEndpoint::from_config(cfg, err));
    cfg.region = "us";
    cfg.endpoint = "http://x";
    CHECK_FALSE(SegmentEndpoint::from_config(cfg, err));
    CHECK(err.find("custom") != std::string::npos);
    for (const char* bad :
         {"ftp://x", "api.segment.io", "http://", "http://:80", "http://x:0", "http://x:99999", "http://x:8a",
          "http://user@x", "http://x/?q=1", "http://[::1"}) {
        INFO(bad);
        CHECK_FALSE(SegmentEndpoint::parse_url(bad, err));
    }
}

TEST_CASE("SegmentClient: request pieces") {
    CHECK(SegmentClient::basic_auth("abc") == "Basic YWJjOg==");
    CHECK(SegmentClient::basic_auth("ab") == "Basic YWI6");
    CHECK(SegmentClient::basic_auth("a") == "Basic YTo=");
    CHECK(SegmentClient::basic_auth("") == "Basic Og==");
    CHECK(SegmentClient::iso8601_ms(1'796'108'400'123) == "2026-12-01T07:00:00.123Z");
    CHECK(SegmentClient::iso8601_ms(0) == "1970-01-01T00:00:00.000Z");
    std::string wire;
    std::string error;
    bool gzipped = true;
    REQUIRE(SegmentClient::wire_body("{\"a\":1},\n{\"b\":2}", "T", "k\"q", true, wire, gzipped, error));
    CHECK_FALSE(gzipped);
    CHECK(wire == "{\"sentAt\":\"T\",\"writeKey\":\"k\\\"q\",\"batch\":[{\"a\":1},\n{\"b\":2}]}");
    // Stored compressed: gzip around the stored stream, or inflated when gzip is off.
    std::string events;
    for (int i = 0; i < 200; ++i)
        events += (i ? ",\n" : "") + std::string(R"({"x":")") + std::to_string(i) + "\"}";
    std::string stored;
    {
        std::string work = events;
        lsr::core::BodyCompressor compressor(1);
        REQUIRE(compressor.store(work, stored));
    }
    REQUIRE(SegmentClient::wire_body(stored, "T", "k", true, wire, gzipped, error));
    CHECK(gzipped);
    CHECK(lsr::test::gunzip(wire) == "{\"sentAt\":\"T\",\"writeKey\":\"k\",\"batch\":[" + events + "]}");
    REQUIRE(SegmentClient::wire_body(stored, "T", "k", false, wire, gzipped, error));
    CHECK_FALSE(gzipped);
    CHECK(wire == "{\"sentAt\":\"T\",\"writeKey\":\"k\",\"batch\":[" + events + "]}");
    // Damage is a local failure with the reason, never a request.
    CHECK_FALSE(SegmentClient::wire_body("\x05garbage", "T", "k", true, wire, gzipped, error));
    CHECK(error == "the stored batch body cannot be read: not a stored batch body (first byte 0x05)");
    std::string bad_crc = stored;
    bad_crc[5] = static_cast<char>(bad_crc[5] ^ 1);
    CHECK_FALSE(SegmentClient::wire_body(bad_crc, "T", "k", false, wire, gzipped, error));
    CHECK(error == "the stored batch body cannot be read: stored batch body fails its CRC-32 check");
}

TEST_CASE("SegmentClient: POST /v1/batch with auth, user agent and a fresh sentAt") {
    SegmentStandIn stand_in;
    IoThread t;
    lsr::core::ManualClock clock(1'796'108'400'000);
    SegmentClient client(t.io, custom(stand_in.url()), clock);
    auto r = send_and_wait(client, batch());
    CHECK_FALSE(r.ec);
    CHECK(r.status == 200);
    CHECK_FALSE(r.gzipped);
    CHECK(r.body_excerpt == R"({"success":true})");
    clock.advance(std::chrono::milliseconds(61'000));
    auto r2 = send_and_wait(client, batch(R"({"type":"identify","userId":"u1"})", 3));
    CHECK(r2.status == 200);
    auto reqs = stand_in.requests();
    REQUIRE(reqs.size() == 2);
    const auto& q = reqs[0];
    CHECK(q.method == "POST");
    CHECK(q.target == "/v1/batch");
    CHECK(q.headers.at("content-type") == "application/json");
    CHECK(q.headers.at("authorization") == SegmentClient::basic_auth("wk_test"));
    CHECK(q.headers.at("user-agent").rfind("looker-segment-relay/", 0) == 0);
    CHECK(q.headers.at("host") == "127.0.0.1:" + std::to_string(stand_in.port()));
    CHECK(q.headers.count("x-retry-count") == 0);
    CHECK(q.headers.count("content-encoding") == 0);
    CHECK(
        q.body ==
        R"({"sentAt":"2026-12-01T07:00:00.000Z","writeKey":"wk_test","batch":[{"type":"identify","userId":"u1"}]})");
    CHECK(reqs[1].headers.at("x-retry-count") == "3");
    CHECK(reqs[1].body.find("\"sentAt\":\"2026-12-01T07:01:01.000Z\"") != std::string::npos);
}

TEST_CASE("SegmentClient: a body stored compressed goes out as gzip, a plain one plain") {
    SegmentStandIn stand_in;
    IoThread t;
    auto cfg = custom(stand_in.url());
    SECTION("gzip_level 1") {}
    SECTION("gzip_level 0: the stored body is inflated and sent plain") {
        cfg.gzip_level = 0;
    }
    SegmentClient client(t.io, cfg, lsr::core::Clock::system());
    std::string body;
    for (int i = 0; i < 100; ++i) {
        if (i) body += ",\n";
        body += R"({"type":"identify","userId":"u)" + std::to_string(i) + R"(","traits":{"plan":"pro"}})";
    }
    std::string stored;
    {
        std::string work = body;
        lsr::core::BodyCompressor compressor(1);
        REQUIRE(compressor.store(work, stored));
    }
    auto r = send_and_wait(client, batch(stored));
    CHECK(r.status == 200);
    CHECK(r.gzipped == (cfg.gzip_level > 0));
    auto plain = send_and_wait(client, batch(body));
    CHECK_FALSE(plain.gzipped);
    auto reqs = stand_in.requests();
    REQUIRE(reqs.size() == 2);
    for (const auto& q : reqs) {
        CHECK(q.body.rfind(R"({"sentAt":")", 0) == 0);
        CHECK(q.body.find(R"(","writeKey":"wk_test","batch":[)" + body + "]}") != std::string::npos);
        CHECK(q.body.size() ==
              std::string_view(R"({"sentAt":"2026-12-01T07:00:00.000Z","writeKey":"wk_test","batch":[]})")
                      .size() +
                  body.size());
    }
    if (cfg.gzip_level > 0) {
        CHECK(reqs[0].headers.at("content-encoding") == "gzip");
        CHECK(reqs[0].wire_bytes < reqs[0].body.size() / 3);
    } else {
        CHECK(reqs[0].headers.count("content-encoding") == 0);
    }
    CHECK(reqs[1].headers.count("content-encoding") == 0);
    CHECK(r.request_bytes == reqs[0].wire_bytes);
}

TEST_CASE("SegmentClient: one connection is reused for sequential requests") {
    SegmentStandIn stand_in;
    IoThread t;
    SegmentClient client(t.io, custom(stand_in.url()), lsr::core::Clock::system());
    for (int i = 0; i < 5; ++i) {
        auto r = send_and_wait(client, batch());
        REQUIRE(r.status == 200);
        CHECK(r.reused_connection == (i > 0));
    }
    CHECK(stand_in.connections() == 1);
    CHECK(client.open_connections() == 1);
}

TEST_CASE("SegmentClient: at most max_connections requests in flight") {
    SegmentStandIn stand_in;
    IoThread t;
    auto cfg = custom(stand_in.url());
    cfg.max_connections = 2;
    SegmentClient client(t.io, cfg, lsr::core::Clock::system());
    StandInAnswer slow;
    slow.delay = 100ms;
    stand_in.push(slow, 6);
    std::vector<std::future<SegmentResponse>> futures;
    for (int i = 0; i < 6; ++i) {
        auto p = std::make_shared<std::promise<SegmentResponse>>();
        futures.push_back(p->get_future());
        client.send(batch(), [p](SegmentResponse r) { p->set_value(std::move(r)); });
    }
    for (auto& f : futures) {
        REQUIRE(f.wait_for(5s) == std::future_status::ready);
        CHECK(f.get().status == 200);
    }
    CHECK(stand_in.connections() == 2);
    CHECK(stand_in.max_concurrent() == 2);
}

TEST_CASE("SegmentClient: Retry-After, X-RateLimit-Reset and the body excerpt come back") {
    SegmentStandIn stand_in;
    IoThread t;
    SegmentClient client(t.io, custom(stand_in.url()), lsr::core::Clock::system());
    StandInAnswer a;
    a.status = 429;
    a.headers = {{"Retry-After", "7"}, {"X-RateLimit-Reset", "1796108460"}};
    a.body = std::string("{\"error\":\"slow down\"}\n") + std::string(1000, 'x');
    stand_in.push(a);
    auto r = send_and_wait(client, batch());
    CHECK_FALSE(r.ec);
    CHECK(r.status == 429);
    CHECK(r.retry_after == "7");
    CHECK(r.rate_limit_reset == "1796108460");
    CHECK(r.body_excerpt.size() == lsr::server::SegmentConnection::kExcerptBytes);
    CHECK(r.body_excerpt.rfind("{\"error\":\"slow down\"} x", 0) == 0);
}

TEST_CASE("SegmentClient: a slow answer times out as a network failure, and the next request works") {
    SegmentStandIn stand_in;
    IoThread t;
    auto cfg = custom(stand_in.url());
    cfg.request_timeout_ms = 200;
    SegmentClient client(t.io, cfg, lsr::core::Clock::system());
    StandInAnswer slow;
    slow.delay = 1500ms;
    stand_in.push(slow);
    const auto start = std::chrono::steady_clock::now();
    auto r = send_and_wait(client, batch());
    CHECK(std::chrono::steady_clock::now() - start < 1000ms);
    CHECK(r.ec);
    CHECK(r.timed_out);
    CHECK(r.status == 0);
    CHECK(r.error == "read: timed out");
    auto ok = send_and_wait(client, batch());
    CHECK(ok.status == 200);
}

TEST_CASE("SegmentClient: refused connection and dropped answer are network failures") {
    IoThread t;
    unsigned short dead_port = 0;
    {
        SegmentStandIn gone;
        dead_port = gone.port();
    }
    SegmentClient refused(t.io, custom("http://127.0.0.1:" + std::to_string(dead_port)),
                          lsr::core::Clock::system());
    auto r = send_and_wait(refused, batch());
    CHECK(r.ec);
    CHECK_FALSE(r.timed_out);
    CHECK(r.error.rfind("connect: ", 0) == 0);

    SegmentStandIn stand_in;
    SegmentClient client(t.io, custom(stand_in.url()), lsr::core::Clock::system());
    StandInAnswer drop;
    drop.drop = true;
    stand_in.push(drop);
    auto d = send_and_wait(client, batch());
    CHECK(d.ec);
    CHECK(d.status == 0);
    CHECK(d.error.rfind("read: ", 0) == 0);
    CHECK(send_and_wait(client, batch()).status == 200);
}

TEST_CASE("SegmentClient: a kept-alive connection closed by the peer is replaced transparently") {
    SegmentStandIn stand_in;
    IoThread t;
    SegmentClient client(t.io, custom(stand_in.url()), lsr::core::Clock::system());
    StandInAnswer close_after;
    close_after.close_after = true;
    stand_in.push(close_after);
    CHECK(send_and_wait(client, batch()).status == 200);
    std::this_thread::sleep_for(50ms);  // let the close reach us
    auto r = send_and_wait(client, batch());
    CHECK_FALSE(r.ec);
    CHECK(r.status == 200);
    CHECK(stand_in.connections() == 2);
    CHECK(stand_in.requests().size() == 2);
}

TEST_CASE("SegmentClient: https to a plain HTTP server fails in the TLS handshake") {
    SegmentStandIn stand_in;
    IoThread t;
    auto cfg = custom("https://127.0.0.1:" + std::to_string(stand_in.port()));
    SegmentClient client(t.io, cfg, lsr::core::Clock::system());
    auto r = send_and_wait(client, batch());
    CHECK(r.ec);
    CHECK(r.error.rfind("tls handshake: ", 0) == 0);
}

TEST_CASE("SegmentClient: invalid endpoint or CA file throws at start-up") {
    boost::asio::io_context io;
    auto cfg = custom("ftp://x");
    CHECK_THROWS_AS(SegmentClient(io, cfg, lsr::core::Clock::system()), std::runtime_error);
    lsr::config::SegmentConfig us;
    us.ca_file = "/nonexistent/ca.pem";
    CHECK_THROWS_AS(SegmentClient(io, us, lsr::core::Clock::system()), std::runtime_error);
}

TEST_CASE("SegmentClient: after shutdown sends fail fast") {
    SegmentStandIn stand_in;
    IoThread t;
    SegmentClient client(t.io, custom(stand_in.url()), lsr::core::Clock::system());
    CHECK(send_and_wait(client, batch()).status == 200);
    client.shutdown();
    auto r = send_and_wait(client, batch());
    CHECK(r.ec == boost::asio::error::operation_aborted);
}

TEST_CASE("SegmentClient: TLS verifies the chain and the host name, and sends SNI") {
    lsr::test::SegmentTlsStandIn tls;
    IoThread t;
    const std::string port = std::to_string(tls.port());

    auto trusted = custom("https://localhost:" + port);
    trusted.ca_file = tls.ca_file();
    SegmentClient ok(t.io, trusted, lsr::core::Clock::system());
    auto r = send_and_wait(ok, batch());
    CHECK_FALSE(r.ec);
    CHECK(r.status == 200);
    CHECK(send_and_wait(ok, batch()).reused_connection);
    CHECK(tls.answered() == 2);
    auto names = tls.server_names();
    REQUIRE_FALSE(names.empty());
    CHECK(names[0] == "localhost");

    // The right CA but a name the certificate does not carry.
    auto wrong_name = custom("https://127.0.0.1:" + port);
    wrong_name.ca_file = tls.ca_file();
    SegmentClient mismatch(t.io, wrong_name, lsr::core::Clock::system());
    auto m = send_and_wait(mismatch, batch());
    CHECK(m.ec);
    CHECK(m.error.rfind("tls handshake: ", 0) == 0);

    // The system store does not know the self-signed certificate.
    SegmentClient untrusted(t.io, custom("https://localhost:" + port), lsr::core::Clock::system());
    auto u = send_and_wait(untrusted, batch());
    CHECK(u.ec);
    CHECK(u.error.rfind("tls handshake: ", 0) == 0);
    CHECK(tls.answered() == 2);
}

TEST_CASE("SegmentClient: a request that cannot be built fails locally, and the connection serves the next") {
    // A 49,200-character write key: its Basic-auth header is over Beast's field size limit,
    // which throws std::length_error while the request is built. It must come back as a
    // local failure (no exception on the io thread), and the client must keep working.
    SegmentStandIn stand_in;
    IoThread t;
    auto cfg = custom(stand_in.url());
    cfg.max_connections = 1;
    SegmentClient client(t.io, cfg, lsr::core::Clock::system());
    auto r = send_and_wait(
        client,
        SegmentSend{std::string(49'200, 'k'), std::make_shared<const std::string>(R"({"type":"track"})"), 0});
    CHECK(r.local);
    CHECK(r.status == 0);
    CHECK(r.error.find("could not be built") != std::string::npos);
    CHECK(stand_in.requests().empty());
    auto ok = send_and_wait(client, batch());
    CHECK_FALSE(ok.local);
    CHECK(ok.status == 200);
    CHECK(stand_in.requests().size() == 1);
}
