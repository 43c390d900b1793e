// One outbound connection, plain TCP or TLS. async_open resolves host:port, connects, and for
// TLS sets SNI (host names only, never IP literals), asks for peer and host-name verification
// and handshakes; then the stream is ready and the caller reads and writes it through visit().
// Every step is bounded: resolve and connect each get Limits::phase, the handshake its own
// phase or what the connect left of it, and none runs past Limits::deadline. A step that runs
// out fails with beast::error::timeout. All handlers run on the executor given (the owner's
// strand); the owner keeps the stream alive while an operation is in progress (its handler
// usually holds the owner).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <variant>

#include "core/clock.hpp"

namespace lsr::server {

class ClientStream {
  public:
    using Plain = boost::beast::tcp_stream;
    using Secure = boost::beast::ssl_stream<boost::beast::tcp_stream>;

    // Where an open failed.
    enum class Step { resolve, server_name, connect, handshake };

    struct Target {
        std::string host;  // a name or an IP literal, without brackets
        std::string port;
        boost::asio::ssl::context* tls = nullptr;  // set: TLS with this context; outlives the stream
    };

    struct Limits {
        std::chrono::milliseconds phase{10'000};
        // true: connect and handshake share one phase; false: the handshake gets its own.
        bool handshake_shares_connect_phase = true;
        core::Clock::Steady deadline = core::Clock::Steady::max();
        bool no_delay = false;    // TCP_NODELAY once connected
        bool keep_alive = false;  // SO_KEEPALIVE once connected
    };

    // Called once per async_open: no error and the stream is ready, or the error and its step.
    using Handler = std::function<void(boost::system::error_code, Step)>;

    ClientStream(boost::asio::any_io_executor executor, const core::Clock& clock);
    ~ClientStream();
    ClientStream(const ClientStream&) = delete;
    ClientStream& operator=(const ClientStream&) = delete;

    // Replaces the stream there was (no operation may be in progress on it).
    void async_open(Target target, Limits limits, Handler handler);

    bool has_stream() const { return !std::holds_alternative<std::monostate>(stream_); }
    bool secure() const { return std::holds_alternative<Secure>(stream_); }
    // The TCP layer; only while has_stream().
    Plain& lowest();
    // f(Plain&) or f(Secure&); only while has_stream().
    template <class F>
    void visit(F&& f) {
        if (auto* s = std::get_if<Secure>(&stream_)) {
            f(*s);
        } else {
            f(std::get<Plain>(stream_));
        }
    }

    // Ends what is in progress (resolve, connect, handshake, reads, writes) with
    // operation_aborted; the socket stays open.
    void cancel();
    // Shuts the socket down and closes it; the stream object stays until the next open or reset.
    void close();
    // Closes and forgets the stream.
    void reset();

  private:
    struct Operation;
    void start_resolve(std::shared_ptr<Operation> op);
    void start_connect(std::shared_ptr<Operation> op,
                       const boost::asio::ip::tcp::resolver::results_type& results);
    void start_handshake(std::shared_ptr<Operation> op);
    void complete(const std::shared_ptr<Operation>& op, boost::system::error_code ec, Step step);
    core::Clock::Steady expiry(const Limits& limits) const;

    boost::asio::any_io_executor executor_;
    const core::Clock& clock_;
    boost::asio::ip::tcp::resolver resolver_;
    boost::asio::steady_timer resolve_timer_;
    std::variant<std::monostate, Plain, Secure> stream_;
};

}  // namespace lsr::server
