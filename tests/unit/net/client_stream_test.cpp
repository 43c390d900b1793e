#include "server/net/client_stream.hpp"

#include <openssl/ssl.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <catch2/catch.hpp>
#include <memory>
#include <optional>
#include <string>

#include "server/net/tls_context_builder.hpp"
#include "test_certificate.hpp"

namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using lsr::server::ClientStream;
using lsr::server::TlsContextBuilder;
using Step = ClientStream::Step;

// A listener on 127.0.0.1 (port 0) that accepts one connection and, for TLS, handshakes and
// notes the server name the client sent. It runs on the test's io_context.
class Listener {
  public:
    explicit Listener(asio::io_context& io, asio::ssl::context* tls = nullptr)
        : acceptor_(io, {asio::ip::make_address("127.0.0.1"), 0}), tls_(tls) {
        acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket s) {
            if (ec) return;
            accepted_ = true;
            if (!tls_) {
                plain_.emplace(std::move(s));
                return;
            }
            secure_ = std::make_unique<asio::ssl::stream<tcp::socket>>(std::move(s), *tls_);
            secure_->async_handshake(asio::ssl::stream_base::server, [this](boost::system::error_code hec) {
                handshake_ok_ = !hec;
                const char* name = SSL_get_servername(secure_->native_handle(), TLSEXT_NAMETYPE_host_name);
                server_name_ = name != nullptr ? name : "";
            });
        });
    }
    std::string port() const { return std::to_string(acceptor_.local_endpoint().port()); }
    bool accepted() const { return accepted_; }
    bool handshake_ok() const { return handshake_ok_; }
    const std::string& server_name() const { return server_name_; }
    tcp::socket& plain() { return *plain_; }
    void close() { acceptor_.close(); }

  private:
    tcp::acceptor acceptor_;
    asio::ssl::context* tls_;
    bool accepted_ = false;
    bool handshake_ok_ = false;
    std::string server_name_;
    std::optional<tcp::socket> plain_;
    std::unique_ptr<asio::ssl::stream<tcp::socket>> secure_;
};

struct Result {
    bool called = false;
    boost::system::error_code ec;
    Step step = Step::resolve;
};

ClientStream::Limits limits(std::chrono::milliseconds phase = std::chrono::seconds(5)) {
    ClientStream::Limits l;
    l.phase = phase;
    return l;
}

void open(asio::io_context& io, ClientStream& stream, ClientStream::Target target, ClientStream::Limits l,
          Result& result) {
    stream.async_open(std::move(target), l, [&result](boost::system::error_code ec, Step step) {
        CHECK_FALSE(result.called);  // once
        result.called = true;
        result.ec = ec;
        result.step = step;
    });
    io.run_for(std::chrono::seconds(20));  // returns as soon as there is nothing left to do
}

}  // namespace

TEST_CASE("ClientStream: opens a plain connection, ready to write", "[client_stream]") {
    asio::io_context io;
    Listener listener(io);
    ClientStream stream(asio::make_strand(io), lsr::core::Clock::system());
    Result r;
    auto l = limits();
    l.no_delay = true;
    l.keep_alive = true;
    open(io, stream, {"127.0.0.1", listener.port(), nullptr}, l, r);
    REQUIRE(r.called);
    CHECK_FALSE(r.ec);
    REQUIRE(listener.accepted());
    REQUIRE(stream.has_stream());
    CHECK_FALSE(stream.secure());

    tcp::no_delay no_delay;
    stream.lowest().socket().get_option(no_delay);
    CHECK(no_delay.value());
    std::string sent = "ping";
    stream.visit([&](auto& s) { asio::write(s, asio::buffer(sent)); });
    std::string got(4, '\0');
    asio::read(listener.plain(), asio::buffer(got));
    CHECK(got == "ping");
}

TEST_CASE("ClientStream: a refused connection fails in the connect step", "[client_stream]") {
    asio::io_context io;
    std::string port;
    {
        Listener gone(io);
        port = gone.port();
        gone.close();
    }
    ClientStream stream(asio::make_strand(io), lsr::core::Clock::system());
    Result r;
    open(io, stream, {"127.0.0.1", port, nullptr}, limits(), r);
    REQUIRE(r.called);
    CHECK(r.ec);
    CHECK(r.step == Step::connect);
}

TEST_CASE("ClientStream: TLS verifies the chain and the host name, and sends SNI", "[client_stream]") {
    lsr::test::TestCertificate cert;
    boost::system::error_code ec;
    auto server_ctx = TlsContextBuilder::server_context(cert.cert_file(), cert.key_file(), ec);
    REQUIRE(server_ctx);

    SECTION("trusted CA and the certificate's name: ready") {
        auto client_ctx = TlsContextBuilder::client_context(cert.cert_file(), ec);
        REQUIRE(client_ctx);
        asio::io_context io;
        Listener listener(io, server_ctx.get());
        ClientStream stream(asio::make_strand(io), lsr::core::Clock::system());
        Result r;
        open(io, stream, {"localhost", listener.port(), client_ctx.get()}, limits(), r);
        REQUIRE(r.called);
        CHECK_FALSE(r.ec);
        CHECK(stream.secure());
        CHECK(listener.handshake_ok());
        CHECK(listener.server_name() == "localhost");
    }
    SECTION("a name the certificate does not carry: the handshake fails") {
        auto client_ctx = TlsContextBuilder::client_context(cert.cert_file(), ec);
        REQUIRE(client_ctx);
        asio::io_context io;
        Listener listener(io, server_ctx.get());
        ClientStream stream(asio::make_strand(io), lsr::core::Clock::system());
        Result r;
        open(io, stream, {"127.0.0.1", listener.port(), client_ctx.get()}, limits(), r);
        REQUIRE(r.called);
        CHECK(r.ec);
        CHECK(r.step == Step::handshake);
        CHECK(listener.server_name().empty());  // no SNI for an IP literal
    }
    SECTION("the system store does not know the certificate: the handshake fails") {
        auto client_ctx = TlsContextBuilder::client_context("", ec);
        REQUIRE(client_ctx);
        asio::io_context io;
        Listener listener(io, server_ctx.get());
        ClientStream stream(asio::make_strand(io), lsr::core::Clock::system());
        Result r;
        open(io, stream, {"localhost", listener.port(), client_ctx.get()}, limits(), r);
        REQUIRE(r.called);
        CHECK(r.ec);
        CHECK(r.step == Step::handshake);
    }
}

TEST_CASE("ClientStream: a peer that never answers the handshake times out", "[client_stream]") {
    lsr::test::TestCertificate cert;
    boost::system::error_code ec;
    auto client_ctx = TlsContextBuilder::client_context(cert.cert_file(), ec);
    REQUIRE(client_ctx);
    for (const bool shares : {true, false}) {
        asio::io_context io;
        Listener silent(io);  // plain TCP: accepts, then says nothing
        ClientStream stream(asio::make_strand(io), lsr::core::Clock::system());
        Result r;
        auto l = limits(std::chrono::milliseconds(200));
        l.handshake_shares_connect_phase = shares;
        open(io, stream, {"localhost", silent.port(), client_ctx.get()}, l, r);
        REQUIRE(r.called);
        CHECK(r.ec == boost::beast::error::timeout);
        CHECK(r.step == Step::handshake);
    }
}

TEST_CASE("ClientStream: the overall deadline caps every step", "[client_stream]") {
    asio::io_context io;
    lsr::test::TestCertificate cert;
    boost::system::error_code ec;
    auto client_ctx = TlsContextBuilder::client_context(cert.cert_file(), ec);
    REQUIRE(client_ctx);
    Listener silent(io);
    ClientStream stream(asio::make_strand(io), lsr::core::Clock::system());
    Result r;
    auto l = limits(std::chrono::hours(1));
    l.handshake_shares_connect_phase = false;
    l.deadline = lsr::core::Clock::system().steady() + std::chrono::milliseconds(300);
    open(io, stream, {"localhost", silent.port(), client_ctx.get()}, l, r);
    REQUIRE(r.called);
    CHECK(r.ec == boost::beast::error::timeout);
}

TEST_CASE("ClientStream: cancel ends an open in progress", "[client_stream]") {
    lsr::test::TestCertificate cert;
    boost::system::error_code ec;
    auto client_ctx = TlsContextBuilder::client_context(cert.cert_file(), ec);
    REQUIRE(client_ctx);
    asio::io_context io;
    Listener silent(io);
    auto strand = asio::make_strand(io);
    ClientStream stream(strand, lsr::core::Clock::system());
    Result r;
    asio::steady_timer later(strand, std::chrono::milliseconds(100));
    later.async_wait([&](boost::system::error_code) { stream.cancel(); });
    open(io, stream, {"localhost", silent.port(), client_ctx.get()}, limits(std::chrono::seconds(30)), r);
    REQUIRE(r.called);
    CHECK(r.ec);
    CHECK(r.ec != boost::beast::error::timeout);
}
