#include "server/net/client_stream.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/system/errc.hpp>
#include <boost/system/system_error.hpp>
#include <exception>
#include <utility>

namespace lsr::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

// One open in progress. Every pending handler of it holds it, and it holds the caller's
// handler (which keeps the owner, and so this stream, alive) until the last one has run.
struct ClientStream::Operation {
    Target target;
    Limits limits;
    Handler handler;
    bool resolve_timed_out = false;
    bool finished = false;
};

namespace {

// Runs one step; an exception it throws (an allocation, OpenSSL failing to make a session)
// ends the open with an error instead of leaving the io thread.
template <class Run, class Fail>
void guarded(Run&& run, Fail&& fail) noexcept {
    try {
        run();
    } catch (const boost::system::system_error& e) {
        fail(e.code());
    } catch (const std::exception&) {
        fail(boost::system::errc::make_error_code(boost::system::errc::not_enough_memory));
    }
}

}  // namespace

ClientStream::ClientStream(asio::any_io_executor executor, const core::Clock& clock)
    : executor_(executor), clock_(clock), resolver_(executor), resolve_timer_(executor) {}

ClientStream::~ClientStream() = default;

core::Clock::Steady ClientStream::expiry(const Limits& limits) const {
    const auto now = clock_.steady();
    if (limits.deadline - now < limits.phase) return limits.deadline;
    return now + limits.phase;
}

void ClientStream::async_open(Target target, Limits limits, Handler handler) {
    auto op = std::make_shared<Operation>();
    op->target = std::move(target);
    op->limits = limits;
    op->handler = std::move(handler);
    // The handler is never called from in here: a failure now is reported through the executor.
    const auto fail_soon = [&](error_code ec, Step step) {
        asio::post(executor_, [this, op, ec, step] { complete(op, ec, step); });
    };
    guarded(
        [&] {
            reset();
            if (op->target.tls == nullptr) {
                stream_.emplace<Plain>(executor_);
            } else {
                auto& secure = stream_.emplace<Secure>(executor_, *op->target.tls);
                error_code addr_ec;
                asio::ip::make_address(op->target.host, addr_ec);
                // SNI carries host names only, never IP literals.
                if (addr_ec && !SSL_set_tlsext_host_name(secure.native_handle(), op->target.host.c_str())) {
                    return fail_soon(
                        error_code(static_cast<int>(::ERR_get_error()), asio::error::get_ssl_category()),
                        Step::server_name);
                }
                secure.set_verify_mode(ssl::verify_peer);
                secure.set_verify_callback(ssl::host_name_verification(op->target.host));
            }
            start_resolve(op);
        },
        [&](error_code ec) { fail_soon(ec, Step::resolve); });
}

void ClientStream::start_resolve(std::shared_ptr<Operation> op) {
    // The resolver has no deadline of its own: a timer cancels it.
    op->resolve_timed_out = false;
    resolve_timer_.expires_at(expiry(op->limits));
    resolve_timer_.async_wait([this, op](const error_code& ec) {
        if (ec || op->finished) return;  // the resolve ended first
        op->resolve_timed_out = true;
        resolver_.cancel();
    });
    resolver_.async_resolve(op->target.host, op->target.port,
                            [this, op](const error_code& ec, tcp::resolver::results_type results) {
                                resolve_timer_.cancel();
                                if (op->finished) return;
                                if (op->resolve_timed_out)
                                    return complete(op, beast::error::timeout, Step::resolve);
                                if (ec) return complete(op, ec, Step::resolve);
                                guarded([&] { start_connect(op, results); },
                                        [&](error_code gec) { complete(op, gec, Step::connect); });
                            });
}

void ClientStream::start_connect(std::shared_ptr<Operation> op, const tcp::resolver::results_type& results) {
    lowest().expires_at(expiry(op->limits));
    lowest().async_connect(results, [this, op](const error_code& ec, const tcp::endpoint&) {
        if (op->finished) return;
        if (ec) return complete(op, ec, Step::connect);
        error_code ignored;
        if (op->limits.no_delay) lowest().socket().set_option(tcp::no_delay(true), ignored);
        if (op->limits.keep_alive) lowest().socket().set_option(asio::socket_base::keep_alive(true), ignored);
        if (!secure()) return complete(op, {}, Step::connect);
        guarded([&] { start_handshake(op); }, [&](error_code gec) { complete(op, gec, Step::handshake); });
    });
}

void ClientStream::start_handshake(std::shared_ptr<Operation> op) {
    if (!op->limits.handshake_shares_connect_phase) lowest().expires_at(expiry(op->limits));
    std::get<Secure>(stream_).async_handshake(ssl::stream_base::client, [this, op](const error_code& ec) {
        if (op->finished) return;
        complete(op, ec, Step::handshake);
    });
}

void ClientStream::complete(const std::shared_ptr<Operation>& op, error_code ec, Step step) {
    if (op->finished) return;
    op->finished = true;
    if (op->handler) op->handler(ec, step);
}

beast::tcp_stream& ClientStream::lowest() {
    if (auto* s = std::get_if<Secure>(&stream_)) return beast::get_lowest_layer(*s);
    return std::get<Plain>(stream_);
}

void ClientStream::cancel() {
    resolver_.cancel();
    resolve_timer_.cancel();
    if (!has_stream()) return;
    error_code ignored;
    lowest().socket().cancel(ignored);
}

void ClientStream::close() {
    if (!has_stream()) return;
    error_code ignored;
    lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
    lowest().close();
}

void ClientStream::reset() {
    close();
    stream_.emplace<std::monostate>();
}

}  // namespace lsr::server
