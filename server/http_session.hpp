// One client connection: reads a request (headers first, then the body into memory or a
// temp file as its route says), hands it to the route's handler as an HttpExchange, writes
// the answer, and reads the next one while keep-alive holds. Every read has a deadline;
// header, body and connection limits come from config. One write in flight at a time.
#pragma once

#include <atomic>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/file_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "config/config.hpp"
#include "server/router.hpp"

namespace lsr::server {

class Logger;
class ServerMetrics;
class SessionRegistry;

struct SessionDeps {
    const config::ServerConfig& cfg;
    const Router& router;
    ServerMetrics& metrics;
    Logger& log;
    const std::atomic<bool>& draining;
    SessionRegistry& registry;
    std::string temp_dir;
    boost::asio::ssl::context* tls = nullptr;  // set: the listener speaks HTTPS
};

class HttpSession : public std::enable_shared_from_this<HttpSession> {
  public:
    HttpSession(boost::asio::ip::tcp::socket socket, const SessionDeps& deps);
    ~HttpSession();

    void run();
    void close_if_idle();  // drain: drop a connection that waits for its next request
    // Drain, grace period over: a handler still at work is told to answer now
    // (Interruption::shutting_down); a request whose body is still arriving gets 503 with
    // Retry-After. The connection closes after the answer.
    void interrupt();

    // Used by the exchange; always called on the session's strand.
    struct Answer {
        unsigned status = 200;
        std::string head_extra;  // "Name: value\r\n" lines
        std::string content_type;
        std::string body;
        bool stream = false;  // chunked: body is the first chunk (may be empty)
        bool last = true;     // stream: this write ends the answer
    };
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
    void on_header(boost::beast::error_code ec, std::size_t);
    void do_read_body(const Route& route, RouteMatch match);
    void read_body(const Route& route, RouteMatch match);
    void on_body(boost::beast::error_code ec, RouteMatch match);
    void dispatch(const Route& route, RouteMatch match, std::string body, std::string file,
                  std::uint64_t size);
    void fail_request(unsigned status, std::string_view message, bool close);
    void enqueue_write(std::string bytes, bool ends_answer);
    void do_write();
    void on_write(boost::beast::error_code ec, std::size_t);
    void finish_answer();
    void do_close();
    std::string make_temp_file(boost::beast::error_code& ec);
    void watch_client();
    void on_watch(boost::beast::error_code ec, std::size_t n);
    void raise_interrupt(Interruption why);
    void refuse_for_drain();

    std::variant<PlainStream, TlsStream> stream_;
    boost::beast::flat_buffer buffer_;
    SessionDeps deps_;
    std::string remote_;
    std::optional<boost::beast::http::request_parser<boost::beast::http::empty_body>> header_parser_;
    std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> small_parser_;
    std::optional<boost::beast::http::request_parser<boost::beast::http::file_body>> file_parser_;
    std::string temp_file_;
    boost::beast::http::request_header<> header_;
    std::chrono::steady_clock::time_point request_started_;
    std::string route_label_ = "unmatched";
    unsigned answer_status_ = 0;
    bool keep_alive_ = false;
    bool idle_ = false;
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
    bool watching_ = false;          // the watch read is outstanding
    bool read_after_watch_ = false;  // the answer ended while it was: read the next request after it
    std::optional<Interruption> interrupted_;
    bool body_cut_ = false;  // drain: the body read was stopped, answer 503
    std::function<void(Interruption)> interrupt_handler_;
};

}  // namespace lsr::server
