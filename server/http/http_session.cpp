#include "server/http/http_session.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <boost/asio/write.hpp>

#include "server/http/connection_budget.hpp"
#include "server/http/request_gate.hpp"
#include "server/http/server_metrics.hpp"
#include "server/http/session_exchange.hpp"
#include "server/http/session_registry.hpp"
#include "server/net/logger.hpp"

namespace lsr::server {

namespace beast = boost::beast;
namespace net = boost::asio;

namespace {

constexpr std::size_t kReadChunk = 64 * 1024;
// A body bound for a file is read in blocks up to this size: the read buffer grows to it for
// the body and shrinks back to the header limit after it.
constexpr std::size_t kBodyReadBytes = 256 * 1024;
constexpr const char* kStorageRetryAfter = "Retry-After: 30\r\n";  // as a full spool
constexpr std::string_view kCannotStore =
    "The relay cannot store the request body right now; send it again later.";

std::variant<beast::tcp_stream, beast::ssl_stream<beast::tcp_stream>> make_stream(net::ip::tcp::socket socket,
                                                                                  net::ssl::context* tls) {
    using V = std::variant<beast::tcp_stream, beast::ssl_stream<beast::tcp_stream>>;
    if (tls) return V(std::in_place_index<1>, std::move(socket), *tls);
    return V(std::in_place_index<0>, std::move(socket));
}

bool is_http_error(const beast::error_code& ec) {
    return ec.category() == beast::http::make_error_code(beast::http::error::need_more).category();
}

}  // namespace

HttpSession::HttpSession(net::ip::tcp::socket socket, const SessionDeps& deps)
    : stream_(make_stream(std::move(socket), deps.tls)),
      buffer_(std::max<std::size_t>(deps.limits.max_header_bytes, 1024)),
      deps_(deps),
      request_(deps.limits.max_header_bytes),
      receive_timer_(tcp().get_executor(), *deps.clock, deps.limits.min_receive_bytes_per_s,
                     std::chrono::milliseconds(deps.limits.receive_window_ms)) {
    beast::error_code ec;
    const auto ep = tcp().socket().remote_endpoint(ec);
    if (!ec) remote_ = ep.address().to_string();
    status_.clock = deps_.clock;
    status_.set(ConnState::waiting_first);
    deps_.metrics.connection_opened(deps_.listener);
}

HttpSession::~HttpSession() {
    deps_.registry.remove(this);
    deps_.metrics.connection_closed(deps_.listener);
    if (!temp_file_.empty()) ::unlink(temp_file_.c_str());
}

void HttpSession::run() {
    deps_.registry.add(this, weak_from_this(), remote_, &status_);
    net::dispatch(tcp().get_executor(), [self = shared_from_this()] {
        if (auto* tls = std::get_if<TlsStream>(&self->stream_)) {
            self->tcp().expires_after(std::chrono::milliseconds(self->deps_.limits.read_header_timeout_ms));
            tls->async_handshake(net::ssl::stream_base::server,
                                 beast::bind_front_handler(&HttpSession::on_handshake, self));
            return;
        }
        self->do_read_header();
    });
}

void HttpSession::on_handshake(beast::error_code ec) {
    if (ec) return do_close();  // not TLS, a bad handshake, or too slow: nothing to answer
    do_read_header();
}

void HttpSession::close_if_idle() {
    net::dispatch(tcp().get_executor(), [self = shared_from_this()] {
        const bool waiting = self->phase_ == Phase::idle || (self->phase_ == Phase::headers &&
                                                             self->status_.state == ConnState::waiting_first);
        if (waiting && self->buffer_.size() == 0) self->do_close();
    });
}

void HttpSession::shed() {
    net::dispatch(tcp().get_executor(), [self = shared_from_this()] {
        const ConnState s = self->status_.state.load();
        if (self->closing_ || !ConnectionBudget::sheddable(s)) {
            self->status_.shed_pending = false;  // it went on to admitted work meanwhile
            return;
        }
        self->deps_.metrics.connection_shed(self->deps_.listener, to_string(s));
        self->do_close();
    });
}

//------------------------------------------------------------------------------
// Receiving: one read at a time into the bounded buffer, parsed here, watched for its rate.

void HttpSession::do_read_header() {
    if (deps_.draining.load() && !first_request_) return do_close();
    request_.start();
    header_sized_buffer();
    tcp().expires_never();  // reads are timed by the watchdog, writes set their own deadline
    const auto& l = deps_.limits;
    if (first_request_) {
        phase_ = Phase::headers;
        arm_receive(std::chrono::milliseconds(l.read_header_timeout_ms));
    } else {
        phase_ = Phase::idle;
        status_.set(ConnState::idle);
        arm_receive(std::chrono::milliseconds(l.idle_timeout_ms), false);  // no bytes due while idle
    }
    advance();  // a pipelined request may be in the buffer already
}

void HttpSession::read_more() {
    const std::size_t room = buffer_.size() < buffer_.max_size() ? buffer_.max_size() - buffer_.size() : 0;
    // What the parser left unconsumed is a partial header block, chunk line or trailer block:
    // it may not grow past the header limit, whatever the buffer's size in the body phase.
    const bool too_long =
        room == 0 || (phase_ == Phase::body && buffer_.size() >= deps_.limits.max_header_bytes);
    if (too_long) {
        stop_receive_watch();
        return fail_request(431, "Request headers, chunk extensions or trailers are larger than the limit.",
                            true);
    }
    auto space = buffer_.prepare(std::min(room, phase_ == Phase::body ? kBodyReadBytes : kReadChunk));
    with_stream([&](auto& s) {
        s.async_read_some(space, beast::bind_front_handler(&HttpSession::on_read, shared_from_this()));
    });
}

void HttpSession::on_read(beast::error_code ec, std::size_t n) {
    buffer_.commit(n);
    if (closing_) return;
    if (phase_ == Phase::linger) {
        buffer_.clear();
        if (ec) return do_close();
        return read_more();
    }
    if (body_cut_) return refuse_for_drain();
    receive_timer_.received(n);
    if (expired_ != ReceiveWatchdog::Verdict::ok) return on_receive_expired();
    if (ec) return do_close();  // the client is gone (between requests or in the middle of one)
    advance();
}

void HttpSession::advance() {
    if (closing_) return;
    beast::error_code ec;
    if (phase_ == Phase::idle || phase_ == Phase::headers) {
        if (buffer_.size() == 0) return read_more();
        if (phase_ == Phase::idle) {  // the next request's first bytes: its header time starts now
            phase_ = Phase::headers;
            arm_receive(std::chrono::milliseconds(deps_.limits.read_header_timeout_ms));
        }
        if (status_.state != ConnState::headers) status_.set(ConnState::headers);
        request_.feed(buffer_, ec);
        if (ec == beast::http::error::need_more) return read_more();
        stop_receive_watch();
        return on_header_parsed(ec);
    }
    if (phase_ == Phase::body) {
        request_.feed(buffer_, ec);
        if (ec == beast::http::error::need_more) return read_more();
        stop_receive_watch();
        header_sized_buffer();
        return on_body(ec);
    }
}

void HttpSession::arm_receive(Clock::duration total, bool watch_rate) {
    expired_ = ReceiveWatchdog::Verdict::ok;
    receive_timer_.arm(weak_from_this(), total, watch_rate, [this](ReceiveWatchdog::Verdict verdict) {
        if (closing_) return;
        if (phase_ == Phase::linger) return do_close();
        expired_ = verdict;
        tcp().cancel();  // the pending read ends; on_read sees expired_
    });
}

void HttpSession::stop_receive_watch() {
    receive_timer_.stop();
}

void HttpSession::on_receive_expired() {
    if (phase_ == Phase::idle) return do_close();  // keep-alive idle time is over: nothing to answer
    const bool body = phase_ == Phase::body;
    const bool started = body || request_.header_bytes() > 0 || buffer_.size() > 0;
    deps_.metrics.slow_client(deps_.listener, body ? "body" : "headers",
                              expired_ == ReceiveWatchdog::Verdict::too_slow ? "min_rate" : "deadline");
    if (!started || std::holds_alternative<TlsStream>(stream_)) return do_close();
    route_label_ = body ? route_label_ : "unmatched";
    request_started_ = deps_.clock->steady();
    fail_request(
        408,
        body ? "The request body did not arrive in time." : "The request headers did not arrive in time.",
        true);
}

//------------------------------------------------------------------------------
// Routing: everything about the request is decided on its headers, before its body is read.

void HttpSession::on_header_parsed(beast::error_code ec) {
    first_request_ = false;
    header_ = {};  // an error answer must not take the last request's method
    request_started_ = deps_.clock->steady();
    route_label_ = "unmatched";
    if (ec == beast::http::error::header_limit)
        return fail_request(431, "Request headers are larger than the limit.", true);
    if (ec) return fail_request(400, "Malformed HTTP request: " + ec.message() + ".", true);

    header_ = request_.header();
    keep_alive_ = request_.keep_alive();
    auto gate = gate_request(header_, request_.has_body(), deps_.draining.load(), deps_.router, match_);
    if (match_.route) route_label_ = match_.route->pattern;
    if (!gate.proceed) {
        if (gate.close) keep_alive_ = false;
        Answer a;
        a.status = gate.status;
        a.content_type = "application/json";
        a.body = std::move(gate.body);
        return send(std::move(a));
    }
    status_.set(gate.state);
    do_read_body();
}

void HttpSession::do_read_body() {
    const auto& l = deps_.limits;
    if (!request_.has_body()) return dispatch({}, {}, 0);  // no body at all: hand over at once
    const auto length = request_.content_length();
    const std::uint64_t limit =
        match_.route->body == BodyKind::large_file ? l.max_body_bytes : l.max_small_body_bytes;
    if (length && *length > limit) return fail_request(413, "Request body is larger than the limit.", true);

    if (beast::iequals(header_[beast::http::field::expect], "100-continue")) {
        // The client waits for this before it sends the body; the body read starts once it
        // is written.
        static constexpr std::string_view cont = "HTTP/1.1 100 Continue\r\n\r\n";
        tcp().expires_after(std::chrono::milliseconds(l.idle_timeout_ms));
        with_stream([&](auto& s) {
            net::async_write(s, net::buffer(cont.data(), cont.size()),
                             [self = shared_from_this()](beast::error_code ec, std::size_t) {
                                 if (ec) return self->do_close();
                                 self->tcp().expires_never();
                                 self->start_body();
                             });
        });
        return;
    }
    start_body();
}

void HttpSession::start_body() {
    const auto& l = deps_.limits;
    const bool to_file = match_.route->body == BodyKind::large_file;
    beast::error_code ec;
    int fd = -1;
    if (to_file) temp_file_ = make_temp_file(fd, ec);
    if (!ec) request_.begin_body(to_file ? l.max_body_bytes : l.max_small_body_bytes, fd, ec);
    if (ec) {
        deps_.log.error("cannot create a temp file for a request body",
                        {{"dir", deps_.temp_dir}, {"error", ec.message()}});
        return fail_request(503, kCannotStore, true, kStorageRetryAfter);
    }
    phase_ = Phase::body;
    if (to_file) buffer_.max_size(std::max<std::size_t>(kBodyReadBytes, buffer_.max_size()));
    arm_receive(std::chrono::milliseconds(l.read_body_timeout_ms));
    advance();  // part of the body may have come with the headers
}

void HttpSession::on_body(beast::error_code ec) {
    if (ec == beast::http::error::body_limit)
        return fail_request(413, "Request body is larger than the limit.", true);
    if (ec == beast::http::error::header_limit)
        return fail_request(431, "Request headers, chunk extensions and trailers are larger than the limit.",
                            true);
    if (ec && !is_http_error(ec)) {  // writing the temp file failed: its disk is full, or broken
        deps_.log.error("cannot store a request body", {{"dir", deps_.temp_dir}, {"error", ec.message()}});
        return fail_request(503, kCannotStore, true, kStorageRetryAfter);
    }
    if (ec) return fail_request(400, "Malformed request body: " + ec.message() + ".", true);
    if (!temp_file_.empty()) {
        const std::uint64_t size = request_.close_file();
        std::string file = std::move(temp_file_);
        temp_file_.clear();
        return dispatch({}, std::move(file), size);
    }
    std::string body = request_.take_body();
    const auto size = body.size();
    dispatch(std::move(body), {}, size);
}

void HttpSession::dispatch(std::string body, std::string file, std::uint64_t size) {
    stop_receive_watch();
    phase_ = Phase::none;
    status_.set(ConnState::busy);
    tcp().expires_never();  // the handler may work for long; writes set their own deadline
    const Route& route = *match_.route;
    const std::string_view target = header_.target();
    std::string path(target.substr(0, target.find('?')));
    auto exchange = std::make_shared<SessionExchange>(shared_from_this(), header_, std::move(path),
                                                      std::move(match_.params), remote_, route.pattern,
                                                      std::move(body), std::move(file), size);
    in_handler_ = true;
    watch_client();
    route.handler(std::move(exchange));
}

void HttpSession::do_close() {
    if (closing_) return;
    closing_ = true;
    stop_receive_watch();
    if (in_handler_) raise_interrupt(Interruption::client_gone);  // e.g. a write failed: nobody reads
    beast::error_code ec;
    tcp().socket().shutdown(net::ip::tcp::socket::shutdown_send, ec);
    tcp().close();
}

// mkstemp creates the file with mode 0600 and O_EXCL; its descriptor is the one the body is
// written through.
std::string HttpSession::make_temp_file(int& fd, beast::error_code& ec) {
    std::string tmpl = deps_.temp_dir + "/body-XXXXXX";
    fd = ::mkostemp(tmpl.data(), O_CLOEXEC);
    if (fd < 0) {
        ec.assign(errno, boost::system::generic_category());
        return {};
    }
    return tmpl;
}

// After a body: the buffer is bounded by the header limit again (what it holds beyond that,
// a pipelined next request, stays), and the body's block is given back.
void HttpSession::header_sized_buffer() {
    const std::size_t limit = std::max<std::size_t>(deps_.limits.max_header_bytes, 1024);
    if (buffer_.max_size() == limit) return;
    buffer_.max_size(limit);
    buffer_.shrink_to_fit();
}

}  // namespace lsr::server
