// GCC 12 reports a false "potential null pointer dereference" inside Asio's strand
// comparison (any_executor::equal_ex); the pragma must precede the includes to reach it.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wnull-dereference"
#endif

#include "server/delivery/segment_connection.hpp"

#include <boost/asio/dispatch.hpp>
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

// The step's name in SegmentResponse::error ("<step>: <message>").
const char* step_name(ClientStream::Step step) {
    switch (step) {
        case ClientStream::Step::resolve:
            return "resolve";
        case ClientStream::Step::server_name:
            return "tls sni";
        case ClientStream::Step::connect:
            return "connect";
        case ClientStream::Step::handshake:
            return "tls handshake";
    }
    return "connect";
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
      stream_(strand_, core::Clock::system()) {}

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
            self->stream_.cancel();
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
        do_connect();
    }
}

void SegmentConnection::do_connect() {
    buffer_.clear();
    // Resolve, then connect and handshake, each bounded by the connect timeout (connect and
    // handshake share theirs).
    ClientStream::Limits limits;
    limits.phase = connect_timeout_;
    limits.handshake_shares_connect_phase = true;
    limits.no_delay = true;
    stream_.async_open(
        {endpoint_.host(), endpoint_.port(), tls_}, limits,
        [self = shared_from_this()](const boost::system::error_code& ec, ClientStream::Step step) {
            self->guarded(step_name(step), [&] { self->on_connect(ec, step); });
        });
}

void SegmentConnection::on_connect(const boost::system::error_code& ec, ClientStream::Step step) {
    if (ec) {
        return fail(ec, step_name(step));
    }
    connected_ = true;
    do_write();
}

void SegmentConnection::do_write() {
    lowest_layer().expires_after(request_timeout_);  // write and read share the request deadline
    auto on_write = [self = shared_from_this()](const boost::system::error_code& ec, std::size_t bytes) {
        self->guarded("write", [&] { self->on_write(ec, bytes); });
    };
    stream_.visit([&](auto& s) { http::async_write(s, req_, std::move(on_write)); });
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
    stream_.visit([&](auto& s) { http::async_read(s, buffer_, *parser_, std::move(on_read)); });
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
        return do_connect();
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
    stream_.close();
}

beast::tcp_stream& SegmentConnection::lowest_layer() {
    return stream_.lowest();
}

}  // namespace lsr::server
