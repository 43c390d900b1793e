// HttpSession, continued: answering. Answers the session makes itself (fail_request), the
// write queue (one write in flight), the end of an answer, and the linger before a close.

#include <unistd.h>

#include <boost/asio/write.hpp>

#include "server/http/http_session.hpp"
#include "server/http/server_metrics.hpp"

namespace lsr::server {

namespace beast = boost::beast;
namespace net = boost::asio;
using namespace std::chrono_literals;

namespace {

// After an answer with Connection: close, what the client still sends is read and dropped for
// this long, so that closing with unread bytes does not reset the connection under the answer.
constexpr auto kLinger = 2s;

}  // namespace

void HttpSession::fail_request(unsigned status, std::string_view message, bool close,
                               std::string head_extra) {
    if (close) keep_alive_ = false;
    phase_ = Phase::none;
    request_.reset();  // a partial body file is closed and removed at once, not when the connection ends
    if (!temp_file_.empty()) ::unlink(temp_file_.c_str());
    temp_file_.clear();
    // Handlers never saw this request, so the session answers it itself.
    Answer a;
    a.status = status;
    a.content_type = "application/json";
    a.body = HttpAnswer::error_json(message);
    a.head_extra = std::move(head_extra);
    send(std::move(a));
}

void HttpSession::send(Answer a) {
    if (status_.state != ConnState::busy) status_.set(ConnState::busy);
    answer_status_ = a.status;
    const bool close = !keep_alive_ || deps_.draining.load();
    if (close) keep_alive_ = false;
    const bool no_body = header_.method() == beast::http::verb::head;
    enqueue_write(a.head(close, no_body), !a.stream);
    if (a.stream && (!a.body.empty() || a.last)) send_chunk(std::move(a.body), a.last);
}

void HttpSession::send_chunk(std::string data, bool last) {
    auto out = HttpAnswer::chunk(data, last);
    if (!out.empty()) enqueue_write(std::move(out), last);
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
                               answer_status_, deps_.clock->steady() - request_started_);
    if (!writes_.empty()) writes_.clear();
    in_handler_ = false;
    interrupted_.reset();
    interrupt_handler_ = nullptr;
    if (watching_) {
        // The next read (the next request, or the linger after a close) starts once the watch
        // read has let go of the socket and the buffer.
        after_watch_ = keep_alive_ ? AfterWatch::read_header : AfterWatch::linger;
        beast::error_code ec;
        tcp().socket().cancel(ec);
        return;
    }
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

}  // namespace lsr::server
