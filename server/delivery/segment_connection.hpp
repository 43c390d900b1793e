// One keep-alive HTTP/1.1 connection to Segment (plain TCP or TLS with certificate and host
// name verification and SNI), carrying one request at a time. It connects lazily, reconnects
// after the peer closed, and puts a deadline on every step: resolve + connect + TLS handshake
// share cfg.connect_timeout_ms, write + read share cfg.request_timeout_ms. All its handlers
// run on its own strand; the completion handler is called there, exactly once per send.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "server/delivery/segment_endpoint.hpp"
#include "server/net/client_stream.hpp"

namespace lsr::server {

// Segment's answer to one request, or why there was none.
struct SegmentResponse {
    boost::system::error_code ec;  // set when no answer came (status 0)
    bool timed_out = false;
    // Set (with `error`) when the request could not be built or carried for a reason of this
    // process, not of the network or of Segment (e.g. a header Beast refuses to build, an
    // exception from a library): sending the same batch again would fail the same way.
    bool local = false;
    std::string error;  // "<step>: <message>" when ec or local is set
    int status = 0;
    std::string retry_after;                // Retry-After header, verbatim
    std::string rate_limit_reset;           // X-RateLimit-Reset header, verbatim
    std::string body_excerpt;               // first bytes of the answer body, printable only
    std::chrono::microseconds duration{0};  // from the start of the attempt to the answer
    std::size_t request_bytes = 0;          // body bytes on the wire (after gzip)
    bool gzipped = false;
    bool reused_connection = false;
};

class SegmentConnection : public std::enable_shared_from_this<SegmentConnection> {
  public:
    using Request = boost::beast::http::request<boost::beast::http::string_body>;
    using Handler = std::function<void(SegmentResponse)>;

    static constexpr std::size_t kExcerptBytes = 256;
    static constexpr std::chrono::seconds kMaxIdle{30};  // reconnect rather than reuse after this

    // `tls` must outlive the connection; nullptr for plain HTTP.
    SegmentConnection(boost::asio::io_context& io, boost::asio::ssl::context* tls, SegmentEndpoint endpoint,
                      std::uint32_t connect_timeout_ms, std::uint32_t request_timeout_ms);
    ~SegmentConnection();
    SegmentConnection(const SegmentConnection&) = delete;
    SegmentConnection& operator=(const SegmentConnection&) = delete;

    // Sends `req` (Host, keep-alive and Content-Length are set here). One at a time.
    void async_send(Request req, Handler handler);
    // Closes the socket; a send in progress completes with operation_aborted.
    void close();
    // The connection's strand: work for its next request (envelope, gzip) can run there.
    boost::asio::strand<boost::asio::io_context::executor_type> executor() const { return strand_; }

  private:
    void start();
    void do_connect();
    void on_connect(const boost::system::error_code& ec, ClientStream::Step step);
    void do_write();
    void on_write(const boost::system::error_code& ec, std::size_t bytes);
    void do_read();
    void on_read(const boost::system::error_code& ec, std::size_t bytes);
    void fail(const boost::system::error_code& ec, const char* step);
    // Runs one step of the exchange; an exception it throws ends the send with a local
    // failure instead of leaving the io thread.
    template <class Step>
    void guarded(const char* step, Step&& run) noexcept;
    void fail_locally(const char* step, const char* what) noexcept;
    void finish(SegmentResponse response);
    void close_stream();
    boost::beast::tcp_stream& lowest_layer();

    boost::asio::strand<boost::asio::io_context::executor_type> strand_;
    boost::asio::ssl::context* tls_;
    SegmentEndpoint endpoint_;
    std::chrono::milliseconds connect_timeout_;
    std::chrono::milliseconds request_timeout_;
    ClientStream stream_;
    boost::beast::flat_buffer buffer_;
    Request req_;
    std::optional<boost::beast::http::response_parser<boost::beast::http::string_body>> parser_;
    Handler handler_;
    bool connected_ = false;
    bool reused_ = false;         // this attempt started on an already open connection
    bool retried_stale_ = false;  // a stale reused connection was already replaced once
    std::chrono::steady_clock::time_point started_;
    std::chrono::steady_clock::time_point last_used_;
};

}  // namespace lsr::server
