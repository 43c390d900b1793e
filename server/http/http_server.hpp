// A listener: binds its address, accepts connections within its budget (ConnectionBudget:
// near the cap an idle or unauthenticated slow connection makes room, at the caps a new one
// is refused with 503 if none can) and gives each its own strand and HttpSession. Knows its
// sessions so a drain can stop accepting, close idle keep-alive connections and wait for
// requests in flight.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <string>
#include <system_error>

#include "server/http/connection_budget.hpp"
#include "server/http/http_session.hpp"
#include "server/http/session_registry.hpp"

namespace lsr::server {

class HttpServer {
  public:
    HttpServer(boost::asio::io_context& io, const SessionDeps& deps);

    std::error_code listen(const std::string& host, std::uint16_t port);
    std::uint16_t port() const { return port_; }
    void start();
    void stop_accepting();
    void close_idle_sessions();
    std::size_t open_sessions() const { return deps_.registry.size(); }

  private:
    void do_accept();
    void admit(boost::asio::ip::tcp::socket socket);
    void refuse(boost::asio::ip::tcp::socket& socket, const char* reason);

    boost::asio::io_context& io_;
    SessionDeps deps_;
    ConnectionBudget budget_;
    boost::asio::ip::tcp::acceptor acceptor_;
    boost::asio::steady_timer backoff_;
    std::uint16_t port_ = 0;
    std::atomic<bool> accepting_{false};
};

}  // namespace lsr::server
