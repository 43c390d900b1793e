// GCC 12 reports a false "potential null pointer dereference" inside Asio's strand
// comparison (any_executor::equal_ex); the pragma must precede the includes to reach it.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wnull-dereference"
#endif

#include "server/delivery/segment_connection.hpp"

#include <openssl/ssl.h>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <utility>

namespace lsr::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

namespace {

constexpr std::uint32_t kMaxAnswerBytes = 1024 * 1024;

// Errors that mean a kept-alive connection had been closed by the peer before we used it.
bool is_stale_connection_error(const boost::system::error_code& ec) {
    return ec == asio::error::eof || ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
           ec == asio::error::connection_aborted || ec == http::error::end_of_stream ||
           ec == asio::ssl::error::stream_truncated;
}

std::string printable_excerpt(const std::string& body, std::size_t limit) {
    std::string out = body.substr(0, limit);
    for (char& c : out) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u >= 0x7f) {
            c = ' ';
        }
    }
    return out;
}

}  // namespace

SegmentConnection::SegmentConnection(asio::io_context& io, ssl::context* tls, SegmentEndpoint endpoint,
                                     std::uint32_t connect_timeout_ms, std::uint32_t request_timeout_ms)
    : strand_(asio::make_strand(io)),
      tls_(tls),
      endpoint_(std::move(endpoint)),
      connect_timeout_(connect_timeout_ms),
      request_timeout_(request_timeout_ms),
      resolver_(strand_),
      resolve_timer_(strand_) {}

SegmentConnection::~SegmentConnection() = default;

template <class Step>
void SegmentConnection::guarded(const char* step, Step&& run) noexcept {
    try {
        run();
    } catch (const std::exception& e) {
        fail_locally(step, e.what());
    } catch (...) {
        fail_locally(step, "unknown exception");
    }
}

void SegmentConnection::fail_locally(const char* step, const char* what) noexcept {
    try {
        close_stream();
        parser_.reset();
        SegmentResponse out;
        out.local = true;
        out.error = std::string(step) + ": " + what;
        finish(std::move(out));
    } catch (...) {
        handler_ = nullptr;  // nothing more can be done; the handler is not called twice
    }
}

void SegmentConnection::async_send(Request req, Handler handler) {
    asio::dispatch(strand_,
                   [self = shared_from_this(), req = std::move(req), h = std::move(handler)]() mutable {
                       self->req_ = std::move(req);
                       self->handler_ = std::move(h);
                       self->retried_stale_ = false;
                       self->guarded("request", [&] { self->start(); });
                   });
}

void SegmentConnection::close() {
    asio::dispatch(strand_, [self = shared_from_this()] {
        try {
            self->resolver_.cancel();
            self->resolve_timer_.cancel();
            self->close_stream();
        } catch (...) {  // NOLINT(bugprone-empty-catch): closing is best effort
        }
    });
}

void SegmentConnection::start() {
    started_ = std::chrono::steady_clock::now();
    req_.set(http::field::host, endpoint_.host_header());
    req_.keep_alive(true);
    req_.prepare_payload();
    if (connected_ && started_ - last_used_ > kMaxIdle) {
        close_stream();  // the far end (or a load balancer) may have dropped it silently
    }
    reused_ = connected_;
    if (connected_) {
        do_write();
    } else {
        do_resolve();
    }
}

void SegmentConnection::do_resolve() {
    resolve_timed_out_ = false;
    resolve_timer_.expires_after(connect_timeout_);
    resolve_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
        self->guarded("resolve", [&] { self->on_resolve_timeout(ec); });
    });
    resolver_.async_resolve(endpoint_.host(), endpoint_.port(),
                            [self = shared_from_this()](const boost::system::error_code& ec,
                                                        tcp::resolver::results_type results) {
                                self->guarded("resolve", [&] { self->on_resolve(ec, std::move(results)); });
                            });
}

void SegmentConnection::on_resolve_timeout(const boost::system::error_code& ec) {
    if (ec) {
        return;  // cancelled: the resolve finished first
    }
    resolve_timed_out_ = true;
    resolver_.cancel();
}

void SegmentConnection::on_resolve(const boost::system::error_code& ec, tcp::resolver::results_type results) {
    resolve_timer_.cancel();
    if (resolve_timed_out_) {
        return fail(beast::error::timeout, "resolve");
    }
    if (ec) {
        return fail(ec, "resolve");
    }
    do_connect(results);
}

void SegmentConnection::do_connect(const tcp::resolver::results_type& results) {
    plain_.reset();
    secure_.reset();
    buffer_.clear();
    if (tls_ != nullptr) {
        secure_.emplace(strand_, *tls_);
        boost::system::error_code addr_ec;
        asio::ip::make_address(endpoint_.host(), addr_ec);
        // SNI carries host names only, never IP literals.
        if (addr_ec && !SSL_set_tlsext_host_name(secure_->native_handle(), endpoint_.host().c_str())) {
            return fail(boost::system::error_code(static_cast<int>(::ERR_get_error()),
                                                  asio::error::get_ssl_category()),
                        "tls sni");
        }
        secure_->set_verify_mode(ssl::verify_peer);
        secure_->set_verify_callback(ssl::host_name_verification(endpoint_.host()));
    } else {
        plain_.emplace(strand_);
    }
    lowest_layer().expires_after(connect_timeout_);
    lowest_layer().async_connect(
        results, [self = shared_from_this()](const boost::system::error_code& ec, const tcp::endpoint&) {
            self->guarded("connect", [&] { self->on_connect(ec); });
        });
}

void SegmentConnection::on_connect(const boost::system::error_code& ec) {
    if (ec) {
        return fail(ec, "connect");
    }
    boost::system::error_code ignored;
    lowest_layer().socket().set_option(tcp::no_delay(true), ignored);
    if (secure_) {
        return do_handshake();
    }
    connected_ = true;
    do_write();
}

void SegmentConnection::do_handshake() {
    // The connect deadline still runs: connect and handshake share it.
    secure_->async_handshake(ssl::stream_base::client,
                             [self = shared_from_this()](const boost::system::error_code& ec) {
                                 self->guarded("tls handshake", [&] { self->on_handshake(ec); });
                             });
}

void SegmentConnection::on_handshake(const boost::system::error_code& ec) {
    if (ec) {
        return fail(ec, "tls handshake");
    }
    connected_ = true;
    do_write();
}

void SegmentConnection::do_write() {
    lowest_layer().expires_after(request_timeout_);  // write and read share the request deadline
    auto on_write = [self = shared_from_this()](const boost::system::error_code& ec, std::size_t bytes) {
        self->guarded("write", [&] { self->on_write(ec, bytes); });
    };
    if (secure_) {
        http::async_write(*secure_, req_, std::move(on_write));
    } else {
        http::async_write(*plain_, req_, std::move(on_write));
    }
}

void SegmentConnection::on_write(const boost::system::error_code& ec, std::size_t) {
    if (ec) {
        return fail(ec, "write");
    }
    do_read();
}

void SegmentConnection::do_read() {
    parser_.emplace();
    parser_->body_limit(kMaxAnswerBytes);
    auto on_read = [self = shared_from_this()](const boost::system::error_code& ec, std::size_t bytes) {
        self->guarded("read", [&] { self->on_read(ec, bytes); });
    };
    if (secure_) {
        http::async_read(*secure_, buffer_, *parser_, std::move(on_read));
    } else {
        http::async_read(*plain_, buffer_, *parser_, std::move(on_read));
    }
}

void SegmentConnection::on_read(const boost::system::error_code& ec, std::size_t) {
    if (ec) {
        return fail(ec, "read");
    }
    lowest_layer().expires_never();
    auto res = parser_->release();
    parser_.reset();
    SegmentResponse out;
    out.status = static_cast<int>(res.result_int());
    if (auto it = res.find(http::field::retry_after); it != res.end()) {
        out.retry_after = std::string(it->value());
    }
    if (auto it = res.find("X-RateLimit-Reset"); it != res.end()) {
        out.rate_limit_reset = std::string(it->value());
    }
    out.body_excerpt = printable_excerpt(res.body(), kExcerptBytes);
    if (!res.keep_alive()) {
        close_stream();
    }
    last_used_ = std::chrono::steady_clock::now();
    finish(std::move(out));
}

void SegmentConnection::fail(const boost::system::error_code& ec, const char* step) {
    const bool before_answer = parser_.has_value() ? !parser_->got_some() : true;
    const bool on_reused = reused_;
    close_stream();
    if (on_reused && !retried_stale_ && before_answer && is_stale_connection_error(ec)) {
        // The kept-alive connection was already closed by the peer: one fresh attempt.
        retried_stale_ = true;
        reused_ = false;
        parser_.reset();
        return do_resolve();
    }
    parser_.reset();
    SegmentResponse out;
    out.ec = ec;
    out.timed_out = ec == beast::error::timeout;
    out.error = std::string(step) + ": " + (out.timed_out ? std::string("timed out") : ec.message());
    finish(std::move(out));
}

void SegmentConnection::finish(SegmentResponse response) {
    response.duration =
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started_);
    response.reused_connection = reused_;
    req_ = {};  // free the body now, not at the next send
    if (auto h = std::exchange(handler_, nullptr)) {
        h(std::move(response));
    }
}

void SegmentConnection::close_stream() {
    connected_ = false;
    boost::system::error_code ignored;
    if (secure_) {
        beast::get_lowest_layer(*secure_).socket().shutdown(tcp::socket::shutdown_both, ignored);
        beast::get_lowest_layer(*secure_).close();
    }
    if (plain_) {
        plain_->socket().shutdown(tcp::socket::shutdown_both, ignored);
        plain_->close();
    }
}

beast::tcp_stream& SegmentConnection::lowest_layer() {
    if (secure_) {
        return beast::get_lowest_layer(*secure_);
    }
    return *plain_;
}

}  // namespace lsr::server
