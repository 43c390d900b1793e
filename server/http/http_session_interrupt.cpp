// HttpSession, continued: noticing a client that goes away while its handler works, and the
// drain's interruption of a request at work (see HttpExchange::on_interrupt).

#include <boost/asio/dispatch.hpp>
#include <utility>

#include "server/http/http_session.hpp"

namespace lsr::server {

namespace beast = boost::beast;
namespace net = boost::asio;

void HttpSession::watch_client() {
    // Bytes a client sends behind its request (a pipelined next request) are kept in buffer_
    // for it, up to the header limit; beyond that the socket is left alone until the answer.
    if (watching_ || closing_ || !in_handler_ || buffer_.size() >= buffer_.max_size()) return;
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
    if (after_watch_ != AfterWatch::nothing) {
        const AfterWatch next = std::exchange(after_watch_, AfterWatch::nothing);
        if (closing_) return;
        if (next == AfterWatch::linger) return linger_close();
        return do_read_header();
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
        // A body still arriving: stop reading it and answer 503 (on_read).
        if (self->phase_ == Phase::body && !self->writing_ && self->writes_.empty() && !self->closing_) {
            self->body_cut_ = true;
            self->stop_receive_watch();
            beast::error_code ec;
            self->tcp().socket().cancel(ec);
        }
    });
}

void HttpSession::refuse_for_drain() {
    body_cut_ = false;
    fail_request(503, "The relay is shutting down; send the request again.", true, "Retry-After: 5\r\n");
}

}  // namespace lsr::server
