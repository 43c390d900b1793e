#include "server/delivery/segment_client.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>
#include <ctime>
#include <stdexcept>
#include <utility>

#include "core/delivery/batch_envelope.hpp"
#include "core/delivery/gzip_envelope.hpp"
#include "core/delivery/stored_body.hpp"
#include "core/iso_time.hpp"
#include "server/net/tls_context_builder.hpp"

namespace lsr::server {

namespace asio = boost::asio;
namespace http = boost::beast::http;

#ifndef LSR_VERSION
#define LSR_VERSION "0.0.0"
#endif

namespace {

std::string user_agent() {
    std::string ua;
    ua.reserve(48);
    ua.append("looker-segment-relay/");
    ua.append(LSR_VERSION);
    return ua;
}

}  // namespace

SegmentClient::SegmentClient(asio::io_context& io, const config::SegmentConfig& cfg, const core::Clock& clock)
    : io_(io), cfg_(cfg), user_agent_(user_agent()), clock_(clock) {
    std::string error;
    auto ep = SegmentEndpoint::from_config(cfg, error);
    if (!ep) {
        throw std::runtime_error(error);
    }
    endpoint_ = std::move(*ep);
    if (endpoint_.tls()) {
        boost::system::error_code ec;
        tls_ = TlsContextBuilder::client_context(cfg.ca_file, ec);
        if (!tls_) {
            if (!cfg.ca_file.empty()) {
                throw std::runtime_error("segment.ca_file '" + cfg.ca_file +
                                         "' could not be loaded: " + ec.message());
            }
            throw std::runtime_error("the system certificate store could not be loaded: " + ec.message());
        }
    }
}

SegmentClient::~SegmentClient() {
    shutdown();
}

std::size_t SegmentClient::open_connections() {
    std::lock_guard lock(mutex_);
    return all_.size();
}

void SegmentClient::send(SegmentSend request, Handler handler) {
    std::shared_ptr<SegmentConnection> conn;
    {
        std::lock_guard lock(mutex_);
        if (shut_down_) {
            asio::post(io_, [h = std::move(handler)] {
                SegmentResponse r;
                r.ec = asio::error::operation_aborted;
                r.error = "client shut down";
                h(std::move(r));
            });
            return;
        }
        if (!idle_.empty()) {
            conn = std::move(idle_.back());  // most recently used: most likely still open
            idle_.pop_back();
        } else if (all_.size() < std::max<std::uint32_t>(cfg_.max_connections, 1)) {
            conn = std::make_shared<SegmentConnection>(io_, tls_.get(), endpoint_, cfg_.connect_timeout_ms,
                                                       cfg_.request_timeout_ms);
            all_.push_back(conn);
        } else {
            waiting_.push_back(Pending{std::move(request), std::move(handler)});
            return;
        }
    }
    dispatch(std::move(conn), std::move(request), std::move(handler));
}

void SegmentClient::dispatch(std::shared_ptr<SegmentConnection> conn, SegmentSend request, Handler handler) {
    // The envelope (a copy of the body, or the gzip member around the stored stream) is built
    // on the connection's strand, so requests are prepared on the io threads, not on the
    // caller's strand.
    auto ex = conn->executor();
    asio::post(
        ex, [this, conn = std::move(conn), request = std::move(request), h = std::move(handler)]() mutable {
            prepare_and_send(std::move(conn), std::move(request), std::move(h));
        });
}

void SegmentClient::prepare_and_send(std::shared_ptr<SegmentConnection> conn, SegmentSend request,
                                     Handler handler) {
    SegmentConnection::Request req;
    std::size_t wire_bytes = 0;
    bool gzipped = false;
    try {
        std::string error;
        if (!build_request(request, req, gzipped, error)) {
            return fail_locally(std::move(conn), std::move(handler), error);
        }
        request.body.reset();
        wire_bytes = req.body().size();
    } catch (const std::exception& e) {
        return fail_locally(std::move(conn), std::move(handler),
                            std::string("the request could not be built: ") + e.what());
    } catch (...) {
        return fail_locally(std::move(conn), std::move(handler),
                            "the request could not be built: unknown exception");
    }
    // Called exactly once: by the connection, or here if handing the request over throws.
    auto once = std::make_shared<Handler>(std::move(handler));
    try {
        conn->async_send(std::move(req), [this, conn, wire_bytes, gzipped, once](SegmentResponse r) {
            r.request_bytes = wire_bytes;
            r.gzipped = gzipped;
            release(conn);
            if (auto h = std::exchange(*once, nullptr)) {
                h(std::move(r));
            }
        });
    } catch (const std::exception& e) {
        if (auto h = std::exchange(*once, nullptr)) {
            fail_locally(std::move(conn), std::move(h),
                         std::string("the request could not be sent: ") + e.what());
        }
    }
}

void SegmentClient::fail_locally(std::shared_ptr<SegmentConnection> conn, Handler handler,
                                 const std::string& why) {
    release(std::move(conn));
    SegmentResponse r;
    r.local = true;
    r.error = why;
    handler(std::move(r));
}

bool SegmentClient::build_request(const SegmentSend& request, SegmentConnection::Request& req, bool& gzipped,
                                  std::string& error) const {
    // The envelope is built now, when a connection is ready, so sentAt is the attempt's time.
    std::string body;
    const std::string_view stored = request.body ? std::string_view(*request.body) : std::string_view();
    if (!wire_body(stored, iso8601_ms(clock_.unix_ms()), request.write_key, cfg_.gzip_level > 0, body,
                   gzipped, error)) {
        return false;
    }
    req = SegmentConnection::Request{http::verb::post, endpoint_.batch_target(), 11};
    req.set(http::field::content_type, "application/json");
    req.set(http::field::authorization, basic_auth(request.write_key));
    req.set(http::field::user_agent, user_agent_);
    req.set(http::field::accept, "application/json");
    if (request.retry_count > 0) {
        req.set("X-Retry-Count", std::to_string(request.retry_count));
    }
    if (gzipped) {
        req.set(http::field::content_encoding, "gzip");
    }
    req.body() = std::move(body);
    return true;
}

void SegmentClient::release(std::shared_ptr<SegmentConnection> conn) {
    Pending next;
    {
        std::lock_guard lock(mutex_);
        if (shut_down_) {
            conn->close();
            return;
        }
        if (waiting_.empty()) {
            idle_.push_back(std::move(conn));
            return;
        }
        next = std::move(waiting_.front());
        waiting_.pop_front();
    }
    dispatch(std::move(conn), std::move(next.request), std::move(next.handler));  // posts: not inline
}

void SegmentClient::shutdown() {
    std::deque<Pending> waiting;
    std::vector<std::shared_ptr<SegmentConnection>> idle;
    {
        std::lock_guard lock(mutex_);
        shut_down_ = true;
        waiting.swap(waiting_);
        idle.swap(idle_);
    }
    for (auto& c : idle) {
        c->close();
    }
    for (auto& p : waiting) {
        asio::post(io_, [h = std::move(p.handler)] {
            SegmentResponse r;
            r.ec = asio::error::operation_aborted;
            r.error = "client shut down";
            h(std::move(r));
        });
    }
}

bool SegmentClient::wire_body(std::string_view stored, std::string_view sent_at, std::string_view write_key,
                              bool gzip_enabled, std::string& out, bool& gzipped, std::string& error) {
    gzipped = false;
    core::StoredBody::View view;
    std::string why;
    if (!core::StoredBody::inspect(stored, view, why)) {
        error = "the stored batch body cannot be read: " + why;
        return false;
    }
    if (!view.compressed) {
        out = core::BatchEnvelope::build(view.plain, sent_at, write_key);
        return true;
    }
    if (gzip_enabled) {
        core::GzipEnvelope::assemble(core::BatchEnvelope::prefix(sent_at, write_key), view, out);
        gzipped = true;
        return true;
    }
    std::string events;
    if (!core::StoredBody::decode(stored, events, why)) {
        error = "the stored batch body cannot be read: " + why;
        return false;
    }
    out = core::BatchEnvelope::build(events, sent_at, write_key);
    return true;
}

std::string SegmentClient::basic_auth(std::string_view write_key) {
    static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string in(write_key);
    in += ':';
    std::string out = "Basic ";
    std::size_t i = 0;
    for (; i + 3 <= in.size(); i += 3) {
        const std::uint32_t n = (static_cast<unsigned char>(in[i]) << 16) |
                                (static_cast<unsigned char>(in[i + 1]) << 8) |
                                static_cast<unsigned char>(in[i + 2]);
        out += kAlphabet[(n >> 18) & 63];
        out += kAlphabet[(n >> 12) & 63];
        out += kAlphabet[(n >> 6) & 63];
        out += kAlphabet[n & 63];
    }
    const std::size_t rest = in.size() - i;
    if (rest == 1) {
        const std::uint32_t n = static_cast<unsigned char>(in[i]) << 16;
        out += kAlphabet[(n >> 18) & 63];
        out += kAlphabet[(n >> 12) & 63];
        out += "==";
    } else if (rest == 2) {
        const std::uint32_t n =
            (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
        out += kAlphabet[(n >> 18) & 63];
        out += kAlphabet[(n >> 12) & 63];
        out += kAlphabet[(n >> 6) & 63];
        out += '=';
    }
    return out;
}

std::string SegmentClient::iso8601_ms(std::int64_t epoch_ms) {
    return core::format_iso8601_ms(epoch_ms);
}

}  // namespace lsr::server
