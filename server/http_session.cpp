#include "server/http_session.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <boost/asio/write.hpp>
#include <cstdio>

#include "server/connection_budget.hpp"
#include "server/logger.hpp"
#include "server/request_framing.hpp"
#include "server/server_metrics.hpp"
#include "server/session_exchange.hpp"
#include "server/session_registry.hpp"

namespace lsr::server {

namespace beast = boost::beast;
namespace net = boost::asio;
using namespace std::chrono_literals;

namespace {

constexpr std::size_t kReadChunk = 64 * 1024;
// After an answer with Connection: close, what the client still sends is read and dropped for
// this long, so that closing with unread bytes does not reset the connection under the answer.
constexpr auto kLinger = 2s;
constexpr const char* kStorageRetryAfter = "Retry-After: 30\r\n";

std::string error_body(std::string_view message) {
    std::string out = R"({"success":false,"error":")";
    for (char c : message) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    out += "\"}";
    return out;
}

std::string hex(std::size_t n) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "%zx", n);
    return buf;
}

std::variant<beast::tcp_stream, beast::ssl_stream<beast::tcp_stream>> make_stream(net::ip::tcp::socket socket,
                                                                                  net::ssl::context* tls) {
    using V = std::variant<beast::tcp_stream, beast::ssl_stream<beast::tcp_stream>>;
    if (tls) return V(std::in_place_index<1>, std::move(socket), *tls);
    return V(std::in_place_index<0>, std::move(socket));
}

// What a set of fields costs, as they stand in a header block.
std::uint64_t field_bytes(const beast::http::fields& f) {
    std::uint64_t n = 0;
    for (const auto& x : f) n += x.name_string().size() + x.value().size() + 4;
    return n;
}

bool is_http_error(const beast::error_code& ec) {
    return ec.category() == beast::http::make_error_code(beast::http::error::need_more).category();
}

}  // namespace

HttpSession::HttpSession(net::ip::tcp::socket socket, const SessionDeps& deps)
    : stream_(make_stream(std::move(socket), deps.tls)),
      buffer_(std::max<std::size_t>(deps.limits.max_header_bytes, 1024)),
      deps_(deps),
      watchdog_(deps.limits.min_receive_bytes_per_s,
                std::chrono::milliseconds(deps.limits.receive_window_ms)),
      timer_(tcp().get_executor()) {
    beast::error_code ec;
    const auto ep = tcp().socket().remote_endpoint(ec);
    if (!ec) remote_ = ep.address().to_string();
    status_.set(ConnState::waiting_first);
    // Chunk extensions count against the header limit, with the header itself.
    on_chunk_ = [this](std::uint64_t, beast::string_view ext, beast::error_code& cec) {
        header_bytes_ += ext.size();
        if (header_bytes_ > deps_.limits.max_header_bytes) cec = beast::http::error::header_limit;
    };
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
    header_parser_.emplace();
    header_parser_->header_limit(deps_.limits.max_header_bytes);
    // The body limit depends on the route, known only once the headers are read.
    header_parser_->body_limit(boost::none);
    header_bytes_ = 0;
    tcp().expires_never();  // reads are timed by the watchdog, writes set their own deadline
    const auto& l = deps_.limits;
    if (first_request_) {
        phase_ = Phase::headers;
        arm_receive(std::chrono::milliseconds(l.read_header_timeout_ms));
    } else {
        phase_ = Phase::idle;
        status_.set(ConnState::idle);
        arm_receive(std::chrono::milliseconds(l.idle_timeout_ms));
    }
    advance();  // a pipelined request may be in the buffer already
}

void HttpSession::read_more() {
    const std::size_t room = buffer_.max_size() - buffer_.size();
    if (room == 0) {  // a header block, chunk line or trailer block larger than the buffer
        stop_receive_watch();
        return fail_request(431, "Request headers, chunk extensions or trailers are larger than the limit.",
                            true);
    }
    auto space = buffer_.prepare(std::min(room, kReadChunk));
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
    watchdog_.received(n);
    if (expired_ != ReceiveWatchdog::Verdict::ok) return on_receive_expired();
    if (ec) return do_close();  // the client is gone (between requests or in the middle of one)
    advance();
}

template <class Parser>
void HttpSession::parse(Parser& p, bool header_only, beast::error_code& ec) {
    for (;;) {
        if (buffer_.size() == 0) {
            ec = beast::http::error::need_more;
            return;
        }
        const auto used = p.put(buffer_.data(), ec);
        buffer_.consume(used);
        if (header_only) header_bytes_ += used;
        if (ec) return;
        if (header_only ? p.is_header_done() : p.is_done()) return;
        if (used == 0) {
            ec = beast::http::error::need_more;
            return;
        }
    }
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
        parse(*header_parser_, true, ec);
        if (ec == beast::http::error::need_more) {
            if (header_bytes_ + buffer_.size() >= deps_.limits.max_header_bytes)
                ec = beast::http::error::header_limit;
            else
                return read_more();
        }
        stop_receive_watch();
        return on_header_parsed(ec);
    }
    if (phase_ == Phase::body) {
        if (file_parser_)
            parse(*file_parser_, false, ec);
        else
            parse(*small_parser_, false, ec);
        if (ec == beast::http::error::need_more) return read_more();
        stop_receive_watch();
        return on_body(ec);
    }
}

void HttpSession::arm_receive(Clock::duration total, bool watch_rate) {
    const auto now = Clock::now();
    watchdog_.start(now, now + total, watch_rate);
    expired_ = ReceiveWatchdog::Verdict::ok;
    const auto generation = ++timer_generation_;
    timer_.expires_at(watchdog_.next_check());
    timer_.async_wait([self = shared_from_this(), generation](beast::error_code ec) {
        if (!ec) self->on_receive_check(generation);
    });
}

void HttpSession::on_receive_check(std::uint64_t generation) {
    if (generation != timer_generation_ || closing_) return;
    const auto verdict = watchdog_.check(Clock::now());
    if (verdict == ReceiveWatchdog::Verdict::ok) {
        timer_.expires_at(watchdog_.next_check());
        timer_.async_wait([self = shared_from_this(), generation](beast::error_code ec) {
            if (!ec) self->on_receive_check(generation);
        });
        return;
    }
    if (phase_ == Phase::linger) return do_close();
    expired_ = verdict;
    tcp().cancel();  // the pending read ends; on_read sees expired_
}

void HttpSession::stop_receive_watch() {
    ++timer_generation_;
    timer_.cancel();
}

void HttpSession::on_receive_expired() {
    if (phase_ == Phase::idle) return do_close();  // keep-alive idle time is over: nothing to answer
    const bool body = phase_ == Phase::body;
    const bool started = body || header_bytes_ > 0 || buffer_.size() > 0;
    deps_.metrics.slow_client(deps_.listener, body ? "body" : "headers",
                              expired_ == ReceiveWatchdog::Verdict::too_slow ? "min_rate" : "deadline");
    if (!started || std::holds_alternative<TlsStream>(stream_)) return do_close();
    route_label_ = body ? route_label_ : "unmatched";
    request_started_ = Clock::now();
    fail_request(
        408,
        body ? "The request body did not arrive in time." : "The request headers did not arrive in time.",
        true);
}

//------------------------------------------------------------------------------
// Routing: everything about the request is decided on its headers, before its body is read.

void HttpSession::on_header_parsed(beast::error_code ec) {
    first_request_ = false;
    request_started_ = Clock::now();
    route_label_ = "unmatched";
    if (ec == beast::http::error::header_limit)
        return fail_request(431, "Request headers are larger than the limit.", true);
    if (ec) return fail_request(400, "Malformed HTTP request: " + ec.message() + ".", true);

    header_ = header_parser_->get().base();
    header_field_bytes_ = field_bytes(header_);
    keep_alive_ = header_parser_->get().keep_alive();
    if (auto refusal = check_request_framing(header_))
        return fail_request(refusal->status, refusal->message, true);
    const bool has_body = !header_parser_->is_done();
    std::string_view target = header_.target();
    const std::string_view path = target.substr(0, target.find('?'));

    if (deps_.draining.load()) {
        keep_alive_ = false;
        return fail_request(503, "The relay is shutting down; send the request again.", true);
    }
    match_ = deps_.router.match(header_.method(), path);
    if (!match_.route) {
        if (match_.method_mismatch) return fail_request(405, "Method not allowed on this path.", has_body);
        return fail_request(404, "No such route.", has_body);
    }
    const Route& route = *match_.route;
    route_label_ = route.pattern;
    if (has_body && route.body == BodyKind::none)
        return fail_request(413, "This route takes no request body.", true);
    if (route.admit) {
        if (auto refusal = route.admit(header_parser_->get().base())) {
            if (has_body) keep_alive_ = false;  // the unread body ends the connection
            Answer a;
            a.status = static_cast<unsigned>(refusal->status);
            a.content_type = "application/json";
            a.body = std::move(refusal->body);
            return send(std::move(a));
        }
    }
    // Past its admission check a request is authenticated: never shed for a newcomer.
    status_.set(has_body && !route.admit ? ConnState::unauthenticated_body : ConnState::busy);
    do_read_body();
}

void HttpSession::do_read_body() {
    const auto& l = deps_.limits;
    if (header_parser_->is_done()) return dispatch({}, {}, 0);  // no body at all: hand over at once
    const auto length = header_parser_->content_length();
    const std::uint64_t limit =
        match_.route->body == BodyKind::large_file ? l.max_body_bytes : l.max_small_body_bytes;
    if (length && *length > limit) return fail_request(413, "Request body is larger than the limit.", true);

    if (beast::iequals(header_parser_->get()[beast::http::field::expect], "100-continue")) {
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
    const std::uint64_t limit = to_file ? l.max_body_bytes : l.max_small_body_bytes;
    if (to_file) {
        beast::error_code ec;
        temp_file_ = make_temp_file(ec);
        if (!ec) {
            file_parser_.emplace(std::move(*header_parser_));
            file_parser_->get().body().open(temp_file_.c_str(), beast::file_mode::write, ec);
        }
        if (ec) {
            deps_.log.error("cannot create a temp file for a request body",
                            {{"dir", deps_.temp_dir}, {"error", ec.message()}});
            return fail_request(503,
                                "The relay cannot store the request body right now; send it again later.",
                                true, kStorageRetryAfter);
        }
        file_parser_->body_limit(limit);
        file_parser_->eager(true);
        file_parser_->on_chunk_header(on_chunk_);
    } else {
        small_parser_.emplace(std::move(*header_parser_));
        small_parser_->body_limit(limit);
        small_parser_->eager(true);
        small_parser_->on_chunk_header(on_chunk_);
    }
    header_parser_.reset();
    phase_ = Phase::body;
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
        return fail_request(503, "The relay cannot store the request body right now; send it again later.",
                            true, kStorageRetryAfter);
    }
    if (ec) return fail_request(400, "Malformed request body: " + ec.message() + ".", true);
    // Trailers, merged into the message's fields by the parser, count against the header limit.
    const auto all = field_bytes(file_parser_ ? file_parser_->get().base() : small_parser_->get().base());
    if (all > header_field_bytes_ &&
        header_bytes_ + (all - header_field_bytes_) > deps_.limits.max_header_bytes)
        return fail_request(431, "Request headers, chunk extensions and trailers are larger than the limit.",
                            true);
    if (file_parser_) {
        const std::uint64_t size = file_parser_->get().body().size();
        file_parser_->get().body().close();
        file_parser_.reset();
        std::string file = std::move(temp_file_);
        temp_file_.clear();
        return dispatch({}, std::move(file), size);
    }
    std::string body = std::move(small_parser_->get().body());
    small_parser_.reset();
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
    route.handler(std::move(exchange));
}

//------------------------------------------------------------------------------

void HttpSession::fail_request(unsigned status, std::string_view message, bool close,
                               std::string head_extra) {
    if (close) keep_alive_ = false;
    phase_ = Phase::none;
    // Handlers never saw this request, so the session answers it itself.
    Answer a;
    a.status = status;
    a.content_type = "application/json";
    a.body = error_body(message);
    a.head_extra = std::move(head_extra);
    send(std::move(a));
}

void HttpSession::send(Answer a) {
    if (status_.state != ConnState::busy) status_.set(ConnState::busy);
    answer_status_ = a.status;
    const bool close = !keep_alive_ || deps_.draining.load();
    if (close) keep_alive_ = false;
    std::string head = "HTTP/1.1 " + std::to_string(a.status) + " ";
    head += std::string(beast::http::obsolete_reason(static_cast<beast::http::status>(a.status)));
    head += "\r\nServer: looker-segment-relay\r\n";
    if (!a.content_type.empty()) head += "Content-Type: " + a.content_type + "\r\n";
    head += a.head_extra;
    if (close) head += "Connection: close\r\n";
    const bool no_body = header_.method() == beast::http::verb::head;
    if (a.stream) {
        head += "Transfer-Encoding: chunked\r\n\r\n";
        enqueue_write(std::move(head), false);
        if (!a.body.empty() || a.last) send_chunk(std::move(a.body), a.last);
        return;
    }
    head += "Content-Length: " + std::to_string(a.body.size()) + "\r\n\r\n";
    if (!no_body) head += a.body;
    enqueue_write(std::move(head), true);
}

void HttpSession::send_chunk(std::string data, bool last) {
    std::string out;
    if (!data.empty()) {
        out = hex(data.size()) + "\r\n";
        out += data;
        out += "\r\n";
    }
    if (last) out += "0\r\n\r\n";
    if (out.empty()) return;
    enqueue_write(std::move(out), last);
}

void HttpSession::enqueue_write(std::string bytes, bool ends_answer) {
    if (closing_) return;
    writes_.push_back(Pending{std::move(bytes), ends_answer});
    if (!writing_) do_write();
}

void HttpSession::do_write() {
    writing_ = true;
    tcp().expires_after(std::chrono::milliseconds(deps_.limits.idle_timeout_ms));
    const auto& front = writes_.front();
    with_stream([&](auto& s) {
        net::async_write(s, net::buffer(front.bytes),
                         beast::bind_front_handler(&HttpSession::on_write, shared_from_this()));
    });
}

void HttpSession::on_write(beast::error_code ec, std::size_t) {
    writing_ = false;
    if (ec) {
        writes_.clear();
        return do_close();
    }
    const bool ended = writes_.front().ends_answer;
    writes_.pop_front();
    if (ended) return finish_answer();
    if (!writes_.empty()) return do_write();
    tcp().expires_never();
}

void HttpSession::finish_answer() {
    deps_.metrics.request_done(route_label_, std::string(beast::http::to_string(header_.method())),
                               answer_status_, Clock::now() - request_started_);
    if (!writes_.empty()) writes_.clear();
    if (!keep_alive_) return linger_close();
    do_read_header();
}

void HttpSession::linger_close() {
    if (closing_) return;
    if (std::holds_alternative<TlsStream>(stream_)) return do_close();
    beast::error_code ec;
    tcp().expires_never();
    tcp().socket().shutdown(net::ip::tcp::socket::shutdown_send, ec);
    if (ec) return do_close();
    phase_ = Phase::linger;
    status_.set(ConnState::lingering);
    buffer_.clear();
    arm_receive(kLinger, false);
    read_more();
}

void HttpSession::do_close() {
    if (closing_) return;
    closing_ = true;
    stop_receive_watch();
    beast::error_code ec;
    tcp().socket().shutdown(net::ip::tcp::socket::shutdown_send, ec);
    tcp().close();
}

std::string HttpSession::make_temp_file(beast::error_code& ec) {
    std::string tmpl = deps_.temp_dir + "/body-XXXXXX";
    const int fd = ::mkstemp(tmpl.data());
    if (fd < 0) {
        ec.assign(errno, boost::system::generic_category());
        return {};
    }
    ::fchmod(fd, 0600);
    ::close(fd);
    return tmpl;
}

}  // namespace lsr::server
