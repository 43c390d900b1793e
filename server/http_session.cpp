#include "server/http_session.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <boost/asio/write.hpp>
#include <boost/beast/http/read.hpp>
#include <cstdio>

#include "server/logger.hpp"
#include "server/server_metrics.hpp"
#include "server/session_exchange.hpp"
#include "server/session_registry.hpp"

namespace lsr::server {

namespace beast = boost::beast;
namespace net = boost::asio;
using namespace std::chrono_literals;

namespace {

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

}  // namespace

HttpSession::HttpSession(net::ip::tcp::socket socket, const SessionDeps& deps)
    : stream_(make_stream(std::move(socket), deps.tls)), deps_(deps) {
    beast::error_code ec;
    const auto ep = tcp().socket().remote_endpoint(ec);
    if (!ec) remote_ = ep.address().to_string();
    deps_.metrics.connection_opened();
}

HttpSession::~HttpSession() {
    deps_.registry.remove(this);
    deps_.metrics.connection_closed();
    if (!temp_file_.empty()) ::unlink(temp_file_.c_str());
}

void HttpSession::run() {
    deps_.registry.add(this, weak_from_this());
    net::dispatch(tcp().get_executor(), [self = shared_from_this()] {
        if (auto* tls = std::get_if<TlsStream>(&self->stream_)) {
            self->tcp().expires_after(
                std::chrono::milliseconds(self->deps_.cfg.limits.read_header_timeout_ms));
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
        if (self->idle_ && self->buffer_.size() == 0) {
            beast::error_code ec;
            self->tcp().socket().shutdown(net::ip::tcp::socket::shutdown_both, ec);
            self->tcp().close();
        }
    });
}

//------------------------------------------------------------------------------

void HttpSession::do_read_header() {
    if (deps_.draining.load() && !first_request_) return do_close();
    header_parser_.emplace();
    header_parser_->header_limit(deps_.cfg.limits.max_header_bytes);
    // The body limit depends on the route, known only once the headers are read; the
    // route's limit is applied in do_read_body.
    header_parser_->body_limit(boost::none);
    // The first request gets the header deadline; later ones may idle on keep-alive first.
    const auto& l = deps_.cfg.limits;
    tcp().expires_after(std::chrono::milliseconds(
        first_request_ ? l.read_header_timeout_ms : l.idle_timeout_ms + l.read_header_timeout_ms));
    idle_ = true;
    with_stream([&](auto& s) {
        beast::http::async_read_header(
            s, buffer_, *header_parser_,
            beast::bind_front_handler(&HttpSession::on_header, shared_from_this()));
    });
}

void HttpSession::on_header(beast::error_code ec, std::size_t) {
    idle_ = false;
    first_request_ = false;
    if (ec == beast::http::error::end_of_stream || ec == net::error::operation_aborted ||
        ec == beast::error::timeout || ec == net::error::eof || ec == net::error::connection_reset)
        return do_close();
    request_started_ = std::chrono::steady_clock::now();
    route_label_ = "unmatched";
    if (ec == beast::http::error::header_limit)
        return fail_request(431, "Request headers are larger than the limit.", true);
    if (ec) return fail_request(400, "Malformed HTTP request: " + ec.message() + ".", true);

    header_ = header_parser_->get().base();
    keep_alive_ = header_parser_->get().keep_alive();
    std::string_view target = header_.target();
    const auto q = target.find('?');
    const std::string_view path = target.substr(0, q);

    if (deps_.draining.load()) {
        keep_alive_ = false;
        return fail_request(503, "The relay is shutting down; send the request again.", true);
    }
    RouteMatch m = deps_.router.match(header_.method(), path);
    if (!m.route) {
        const bool has_body = !header_parser_->is_done();
        if (m.method_mismatch) return fail_request(405, "Method not allowed on this path.", has_body);
        return fail_request(404, "No such route.", has_body);
    }
    route_label_ = m.route->pattern;
    const Route& route = *m.route;
    if (route.admit) {
        if (auto refusal = route.admit(header_parser_->get().base())) {
            if (!header_parser_->is_done()) keep_alive_ = false;  // the unread body ends the connection
            Answer a;
            a.status = static_cast<unsigned>(refusal->status);
            a.content_type = "application/json";
            a.body = std::move(refusal->body);
            return send(std::move(a));
        }
    }
    do_read_body(route, std::move(m));
}

void HttpSession::do_read_body(const Route& route, RouteMatch match) {
    const auto& l = deps_.cfg.limits;
    if (header_parser_->is_done()) {
        // No body at all: hand over at once.
        return dispatch(route, std::move(match), {}, {}, 0);
    }
    const auto length = header_parser_->content_length();
    const std::uint64_t limit =
        route.body == BodyKind::large_file ? l.max_body_bytes : l.max_small_body_bytes;
    if (length && *length > limit) return fail_request(413, "Request body is larger than the limit.", true);

    const auto expect = header_parser_->get()[beast::http::field::expect];
    if (beast::iequals(expect, "100-continue")) {
        // The client waits for this before it sends the body; the body read starts once it
        // is written, under the same deadline.
        static constexpr std::string_view cont = "HTTP/1.1 100 Continue\r\n\r\n";
        tcp().expires_after(std::chrono::milliseconds(l.read_body_timeout_ms));
        const Route* r = &route;
        with_stream([&](auto& s) {
            net::async_write(s, net::buffer(cont.data(), cont.size()),
                             [self = shared_from_this(), r, match = std::move(match)](beast::error_code ec,
                                                                                      std::size_t) mutable {
                                 if (ec) return self->do_close();
                                 self->read_body(*r, std::move(match));
                             });
        });
        return;
    }
    read_body(route, std::move(match));
}

void HttpSession::read_body(const Route& route, RouteMatch match) {
    const auto& l = deps_.cfg.limits;
    const std::uint64_t limit =
        route.body == BodyKind::large_file ? l.max_body_bytes : l.max_small_body_bytes;
    tcp().expires_after(std::chrono::milliseconds(l.read_body_timeout_ms));
    auto self = shared_from_this();
    if (route.body == BodyKind::large_file) {
        beast::error_code ec;
        temp_file_ = make_temp_file(ec);
        if (ec) {
            deps_.log.error("cannot create a temp file for a request body",
                            {{"dir", deps_.temp_dir}, {"error", ec.message()}});
            return fail_request(503, "The relay cannot store the request body right now.", true);
        }
        file_parser_.emplace(std::move(*header_parser_));
        file_parser_->body_limit(limit);
        file_parser_->get().body().open(temp_file_.c_str(), beast::file_mode::write, ec);
        if (ec) return fail_request(503, "The relay cannot store the request body right now.", true);
        with_stream([&](auto& s) {
            beast::http::async_read(
                s, buffer_, *file_parser_,
                [self, match = std::move(match)](beast::error_code e, std::size_t) mutable {
                    self->on_body(e, std::move(match));
                });
        });
    } else {
        small_parser_.emplace(std::move(*header_parser_));
        small_parser_->body_limit(limit);
        with_stream([&](auto& s) {
            beast::http::async_read(
                s, buffer_, *small_parser_,
                [self, match = std::move(match)](beast::error_code e, std::size_t) mutable {
                    self->on_body(e, std::move(match));
                });
        });
    }
}

void HttpSession::on_body(beast::error_code ec, RouteMatch match) {
    if (body_cut_) return refuse_for_drain();
    if (ec == beast::http::error::body_limit)
        return fail_request(413, "Request body is larger than the limit.", true);
    if (ec == beast::error::timeout)
        return fail_request(408, "The request body did not arrive in time.", true);
    if (ec) return do_close();
    const Route& route = *match.route;
    if (file_parser_) {
        const std::uint64_t size = file_parser_->get().body().size();
        file_parser_->get().body().close();
        file_parser_.reset();
        std::string file = std::move(temp_file_);
        temp_file_.clear();
        return dispatch(route, std::move(match), {}, std::move(file), size);
    }
    std::string body = std::move(small_parser_->get().body());
    small_parser_.reset();
    const auto size = body.size();
    dispatch(route, std::move(match), std::move(body), {}, size);
}

void HttpSession::dispatch(const Route& route, RouteMatch match, std::string body, std::string file,
                           std::uint64_t size) {
    tcp().expires_never();  // the handler may work for long; writes set their own deadline
    const std::string_view target = header_.target();
    std::string path(target.substr(0, target.find('?')));
    auto exchange = std::make_shared<SessionExchange>(shared_from_this(), header_, std::move(path),
                                                      std::move(match.params), remote_, route.pattern,
                                                      std::move(body), std::move(file), size);
    in_handler_ = true;
    watch_client();
    route.handler(std::move(exchange));
}

//------------------------------------------------------------------------------

void HttpSession::fail_request(unsigned status, std::string_view message, bool close) {
    if (close) keep_alive_ = false;
    // Handlers never saw this request, so the session answers it itself.
    Answer a;
    a.status = status;
    a.content_type = "application/json";
    a.body = error_body(message);
    send(std::move(a));
}

void HttpSession::send(Answer a) {
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
    tcp().expires_after(std::chrono::milliseconds(deps_.cfg.limits.idle_timeout_ms));
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
                               answer_status_, std::chrono::steady_clock::now() - request_started_);
    if (!writes_.empty()) writes_.clear();
    in_handler_ = false;
    interrupted_.reset();
    interrupt_handler_ = nullptr;
    if (!keep_alive_) return do_close();
    if (watching_) {
        // The next request is read once the watch read has let go of the buffer.
        read_after_watch_ = true;
        beast::error_code ec;
        tcp().socket().cancel(ec);
        return;
    }
    do_read_header();
}

void HttpSession::do_close() {
    if (closing_) return;
    closing_ = true;
    if (in_handler_) raise_interrupt(Interruption::client_gone);  // e.g. a write failed: nobody reads
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

//------------------------------------------------------------------------------
// Noticing a client that goes away while its handler works, and the drain's interruption.

void HttpSession::watch_client() {
    // Bytes a client sends behind its request (a pipelined next request) are kept in buffer_
    // for it, up to the header limit; beyond that the socket is left alone until the answer.
    if (watching_ || closing_ || !in_handler_ || buffer_.size() >= deps_.cfg.limits.max_header_bytes) return;
    const std::size_t room = std::min<std::size_t>(4096, buffer_.max_size() - buffer_.size());
    if (room == 0) return;  // prepare() would throw
    watching_ = true;
    with_stream([&](auto& s) {
        s.async_read_some(buffer_.prepare(room),
                          beast::bind_front_handler(&HttpSession::on_watch, shared_from_this()));
    });
}

void HttpSession::on_watch(beast::error_code ec, std::size_t n) {
    watching_ = false;
    buffer_.commit(n);
    if (read_after_watch_) {
        read_after_watch_ = false;
        if (!closing_) do_read_header();
        return;
    }
    if (!in_handler_ || closing_ || ec == net::error::operation_aborted) return;
    if (ec) {
        // EOF, reset or any read error: nobody will read the answer.
        keep_alive_ = false;
        return raise_interrupt(Interruption::client_gone);
    }
    watch_client();
}

void HttpSession::raise_interrupt(Interruption why) {
    if (interrupted_) return;
    interrupted_ = why;
    if (auto callback = std::move(interrupt_handler_)) {
        interrupt_handler_ = nullptr;
        callback(why);
    }
}

void HttpSession::set_interrupt_handler(std::function<void(Interruption)> callback) {
    if (!in_handler_) return;
    if (interrupted_) return callback(*interrupted_);
    interrupt_handler_ = std::move(callback);
}

void HttpSession::interrupt() {
    net::dispatch(tcp().get_executor(), [self = shared_from_this()] {
        if (self->in_handler_) {
            self->keep_alive_ = false;
            return self->raise_interrupt(Interruption::shutting_down);
        }
        // A body still arriving: stop reading it and answer 503 (on_body).
        if ((self->small_parser_ || self->file_parser_) && !self->writing_ && self->writes_.empty() &&
            !self->closing_) {
            self->body_cut_ = true;
            beast::error_code ec;
            self->tcp().socket().cancel(ec);
        }
    });
}

void HttpSession::refuse_for_drain() {
    keep_alive_ = false;
    Answer a;
    a.status = 503;
    a.content_type = "application/json";
    a.head_extra = "Retry-After: 5\r\n";
    a.body = error_body("The relay is shutting down; send the request again.");
    send(std::move(a));
}

}  // namespace lsr::server
