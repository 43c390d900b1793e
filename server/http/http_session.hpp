// One client connection: reads a request (headers first, then the body into memory or a
// temp file as its route says), hands it to the route's handler as an HttpExchange, writes
// the answer, and reads the next one while keep-alive holds. One write in flight at a time.
//
// Every byte a request can make the relay hold is bounded before routing: the read buffer
// holds at most max_header_bytes, chunk extensions and trailers count against the header
// limit, the framing is checked (RequestFraming) and a body is read only for a route that
// takes one, once its admission check passed. Reads are watched for a minimum rate
// (ReceiveWatchdog); the session reports what it is doing (ConnectionStatus) so the
// acceptor can shed it first when connections run short.
#pragma once

#include <atomic>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/clock.hpp"
#include "server/http/connection_status.hpp"
#include "server/http/http_answer.hpp"
#include "server/http/listener_limits.hpp"
#include "server/http/receive_timer.hpp"
#include "server/http/request_parser.hpp"
#include "server/http/router.hpp"

namespace lsr::server {

class Logger;
class ServerMetrics;
class SessionRegistry;

struct SessionDeps {
    const Router& router;
    ServerMetrics& metrics;
    Logger& log;
    const std::atomic<bool>& draining;  // the admin listener gets one that stays false
    SessionRegistry& registry;
    std::string temp_dir;
    boost::asio::ssl::context* tls = nullptr;  // set: the listener speaks HTTPS
    ListenerLimits limits{};                   // this listener's limits
    std::string listener = "main";             // metrics label
    const core::Clock* clock = &core::Clock::system();
};

class HttpSession : public std::enable_shared_from_this<HttpSession> {
  public:
    HttpSession(boost::asio::ip::tcp::socket socket, const SessionDeps& deps);
    ~HttpSession();

    void run();
    void close_if_idle();  // drain: drop a connection that waits for its next request
    void shed();           // budget: close it if it still does no admitted work
    const std::string& remote() const { return remote_; }
    bool claim_for_shedding() {  // false: another newcomer chose it already
        bool expected = false;
        return status_.shed_pending.compare_exchange_strong(expected, true);
    }
    // Drain, grace period over: a handler still at work is told to answer now
    // (Interruption::shutting_down); a request whose body is still arriving gets 503 with
    // Retry-After. The connection closes after the answer.
    void interrupt();

    // Used by the exchange; always called on the session's strand.
    using Answer = HttpAnswer;
    void send(Answer answer);
    void send_chunk(std::string data, bool last);
    boost::asio::any_io_executor executor() { return tcp().get_executor(); }
    // The handler of the request at work wants to hear of an interruption (HttpExchange::
    // on_interrupt). While a handler works, a read stays armed on the socket (what it reads
    // is kept for the next request) so a client that goes away is noticed at once.
    void set_interrupt_handler(std::function<void(Interruption)> callback);

  private:
    using PlainStream = boost::beast::tcp_stream;
    using TlsStream = boost::beast::ssl_stream<boost::beast::tcp_stream>;
    using Clock = std::chrono::steady_clock;
    enum class Phase { none, idle, headers, body, linger };

    boost::beast::tcp_stream& tcp() {
        return std::visit(
            [](auto& s) -> boost::beast::tcp_stream& { return boost::beast::get_lowest_layer(s); }, stream_);
    }
    template <class F>
    void with_stream(F&& f) {
        std::visit(std::forward<F>(f), stream_);
    }
    void on_handshake(boost::beast::error_code ec);
    void do_read_header();
    void read_more();
    void on_read(boost::beast::error_code ec, std::size_t n);
    void advance();
    void on_header_parsed(boost::beast::error_code ec);
    void do_read_body();
    void start_body();
    void on_body(boost::beast::error_code ec);
    void dispatch(std::string body, std::string file, std::uint64_t size);
    void arm_receive(Clock::duration total, bool watch_rate = true);
    void stop_receive_watch();
    void on_receive_expired();
    void fail_request(unsigned status, std::string_view message, bool close, std::string head_extra = {});
    void enqueue_write(std::string bytes, bool ends_answer);
    void do_write();
    void on_write(boost::beast::error_code ec, std::size_t);
    void finish_answer();
    void linger_close();
    void do_close();
    std::string make_temp_file(int& fd, boost::beast::error_code& ec);
    void header_sized_buffer();
    void watch_client();
    void on_watch(boost::beast::error_code ec, std::size_t n);
    void raise_interrupt(Interruption why);
    void refuse_for_drain();

    std::variant<PlainStream, TlsStream> stream_;
    boost::beast::flat_buffer buffer_;
    SessionDeps deps_;
    RequestParser request_;
    std::string remote_;
    ConnectionStatus status_;
    ReceiveTimer receive_timer_;
    ReceiveWatchdog::Verdict expired_ = ReceiveWatchdog::Verdict::ok;  // not ok: the read was cut
    Phase phase_ = Phase::none;
    std::string temp_file_;
    boost::beast::http::request_header<> header_;
    RouteMatch match_;
    Clock::time_point request_started_;
    std::string route_label_ = "unmatched";
    unsigned answer_status_ = 0;
    bool keep_alive_ = false;
    bool first_request_ = true;
    bool closing_ = false;
    struct Pending {
        std::string bytes;
        bool ends_answer;
    };
    std::deque<Pending> writes_;
    bool writing_ = false;
    // While a handler works (see set_interrupt_handler).
    bool in_handler_ = false;
    bool watching_ = false;  // the watch read is outstanding
    enum class AfterWatch { nothing, read_header, linger };
    AfterWatch after_watch_ = AfterWatch::nothing;  // the answer ended while it was outstanding
    std::optional<Interruption> interrupted_;
    bool body_cut_ = false;  // drain: the body read was stopped, answer 503
    std::function<void(Interruption)> interrupt_handler_;
};

}  // namespace lsr::server
