#include "server/http/http_server.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <vector>

#include "server/http/http_answer.hpp"
#include "server/http/server_metrics.hpp"
#include "server/net/logger.hpp"

namespace lsr::server {

namespace net = boost::asio;

HttpServer::HttpServer(net::io_context& io, const SessionDeps& deps)
    : io_(io),
      deps_(deps),
      budget_(ConnectionBudget::limits_from(deps.limits)),
      acceptor_(net::make_strand(io)),
      backoff_(acceptor_.get_executor()) {}

std::error_code HttpServer::listen(const std::string& host, std::uint16_t port) {
    boost::system::error_code ec;
    net::ip::tcp::resolver resolver(io_);
    const auto results = resolver.resolve(host, std::to_string(port), net::ip::tcp::resolver::passive, ec);
    if (ec || results.empty())
        return ec ? std::error_code(ec) : std::make_error_code(std::errc::address_not_available);
    const auto endpoint = results.begin()->endpoint();
    acceptor_.open(endpoint.protocol(), ec);
    if (ec) return ec;
    acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    acceptor_.bind(endpoint, ec);
    if (ec) return ec;
    acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec) return ec;
    port_ = acceptor_.local_endpoint().port();
    return {};
}

void HttpServer::start() {
    accepting_ = true;
    net::post(acceptor_.get_executor(), [this] { do_accept(); });
}

void HttpServer::do_accept() {
    acceptor_.async_accept(net::make_strand(io_),
                           [this](boost::system::error_code ec, net::ip::tcp::socket socket) {
                               if (!accepting_) return;
                               if (ec) {
                                   if (ec == net::error::operation_aborted) return;
                                   // Out of file descriptors, for instance: pause instead of spinning on the
                                   // error.
                                   deps_.log.warn("accept failed", {{"error", ec.message()}});
                                   backoff_.expires_after(std::chrono::milliseconds(50));
                                   backoff_.async_wait([this](boost::system::error_code) {
                                       if (accepting_) do_accept();
                                   });
                                   return;
                               } else {
                                   admit(std::move(socket));
                               }
                               do_accept();
                           });
}

void HttpServer::admit(net::ip::tcp::socket socket) {
    boost::system::error_code ec;
    const auto ep = socket.remote_endpoint(ec);
    if (ec) return;  // already gone
    const std::string remote = ep.address().to_string();
    std::vector<std::string> keep;
    const auto decision = budget_.decide(deps_.registry.size(), deps_.registry.from_client(remote), remote,
                                         [&] { return deps_.registry.snapshot(keep); });
    if (decision.shed) {
        if (auto victim = deps_.registry.lock(decision.shed->id)) {
            if (victim->claim_for_shedding()) victim->shed();
        }
    }
    if (!decision.admit) {
        return refuse(socket, decision.refusal == ConnectionBudget::Refusal::per_client ? "per_client"
                                                                                        : "max_connections");
    }
    std::make_shared<HttpSession>(std::move(socket), deps_)->run();
}

void HttpServer::refuse(net::ip::tcp::socket& socket, const char* reason) {
    // Refused quickly instead of queued without bound.
    deps_.metrics.connection_refused(deps_.listener, reason);
    static const std::string busy = [] {
        const std::string body = HttpAnswer::error_json("Too many connections; try again.");
        return "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nConnection: close\r\n"
               "Retry-After: 1\r\nContent-Length: " +
               std::to_string(body.size()) + "\r\n\r\n" + body;
    }();
    boost::system::error_code wec;
    socket.non_blocking(true, wec);
    socket.write_some(net::buffer(busy.data(), busy.size()), wec);
    socket.shutdown(net::ip::tcp::socket::shutdown_send, wec);
    socket.close(wec);
}

void HttpServer::stop_accepting() {
    net::post(acceptor_.get_executor(), [this] {
        accepting_ = false;
        boost::system::error_code ec;
        acceptor_.close(ec);
    });
}

void HttpServer::close_idle_sessions() {
    deps_.registry.for_each([](const std::shared_ptr<HttpSession>& s) { s->close_if_idle(); });
}

}  // namespace lsr::server
