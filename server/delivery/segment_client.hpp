// Sends batches to Segment's /v1/batch over a small pool of keep-alive connections (at most
// cfg.max_connections, one request in flight on each; further sends wait for a free one).
// Per attempt it builds the envelope with a fresh sentAt:
//   {"sentAt":"<now, ISO-8601 ms>","writeKey":"<key>","batch":[<body>]}
// and sends it with Content-Type application/json, Authorization Basic base64(writeKey + ":"),
// User-Agent looker-segment-relay/<version>, X-Retry-Count when retrying. A body stored
// compressed (core::StoredBody; deflated once when it was spooled) goes out as gzip
// (Content-Encoding: gzip) without compressing anything again (core::GzipEnvelope), or
// inflated and plain when cfg.gzip_level is 0; a plain stored body goes out plain. A stored
// body that cannot be read is a local failure (dead-lettered). TLS verifies the
// certificate chain (cfg.ca_file, or the system store) and the host name, with SNI.
// Thread-safe; the handler runs on the strand of the connection that carried the request.
// A request that cannot be built or carried for a local reason completes with
// SegmentResponse::local set; no exception leaves send() or an io thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "core/clock.hpp"
#include "server/delivery/segment_connection.hpp"
#include "server/delivery/segment_endpoint.hpp"

namespace lsr::server {

struct SegmentSend {
    std::string write_key;
    // The batch's stored body (core::StoredBody), shared with the leased batch: not copied.
    std::shared_ptr<const std::string> body;
    std::uint32_t retry_count = 0;  // 0 on the first attempt; sent as X-Retry-Count otherwise
};

class SegmentClient {
  public:
    using Handler = std::function<void(SegmentResponse)>;

    // Throws std::runtime_error for an invalid endpoint or an unreadable CA file (start-up).
    // `clock` (its wall time stamps sentAt) must outlive the client.
    SegmentClient(boost::asio::io_context& io, const config::SegmentConfig& cfg, const core::Clock& clock);
    ~SegmentClient();
    SegmentClient(const SegmentClient&) = delete;
    SegmentClient& operator=(const SegmentClient&) = delete;

    void send(SegmentSend request, Handler handler);
    // Closes idle connections and fails queued sends with operation_aborted; requests in
    // flight finish (bounded by their timeouts).
    void shutdown();

    const SegmentEndpoint& endpoint() const { return endpoint_; }
    std::size_t open_connections();

    // The pieces of a request, public for tests.
    // The request body for a stored body: false with `error` when it cannot be read.
    static bool wire_body(std::string_view stored, std::string_view sent_at, std::string_view write_key,
                          bool gzip_enabled, std::string& out, bool& gzipped, std::string& error);
    static std::string basic_auth(std::string_view write_key);
    static std::string iso8601_ms(std::int64_t epoch_ms);

  private:
    struct Pending {
        SegmentSend request;
        Handler handler;
    };
    void dispatch(std::shared_ptr<SegmentConnection> conn, SegmentSend request, Handler handler);
    void prepare_and_send(std::shared_ptr<SegmentConnection> conn, SegmentSend request, Handler handler);
    // The request could not be built (an exception from a library, e.g. a header value Beast
    // refuses): the connection goes back unused and the handler gets a local failure.
    void fail_locally(std::shared_ptr<SegmentConnection> conn, Handler handler, const std::string& why);
    bool build_request(const SegmentSend& request, SegmentConnection::Request& req, bool& gzipped,
                       std::string& error) const;
    void release(std::shared_ptr<SegmentConnection> conn);

    boost::asio::io_context& io_;
    config::SegmentConfig cfg_;
    SegmentEndpoint endpoint_;
    std::unique_ptr<boost::asio::ssl::context> tls_;
    std::string user_agent_;
    const core::Clock& clock_;

    std::mutex mutex_;
    std::vector<std::shared_ptr<SegmentConnection>> idle_;
    std::vector<std::shared_ptr<SegmentConnection>> all_;
    std::deque<Pending> waiting_;
    bool shut_down_ = false;
};

}  // namespace lsr::server
