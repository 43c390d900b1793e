// The execute request as the job sees it, and its answer: what the ingest side needs of an
// HTTP exchange (server/service adapts server/http's HttpExchange to it). The answer is given
// exactly once: respond(), or begin_stream() + keepalive()* + end_stream(). Every call may
// come from any thread.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <functional>
#include <string>
#include <string_view>

namespace lsr::server {

// Why the job should stop before it is done.
enum class ExecuteStop {
    client_gone,    // Looker closed the connection: the answer goes nowhere
    shutting_down,  // the drain's grace period ran out: answer now with what there is
};

class ExecuteReply {
  public:
    virtual ~ExecuteReply() = default;

    // The request: a small body in memory, or a large one in a file (body() then empty).
    virtual const std::string& body() const = 0;
    virtual const std::string& body_file() const = 0;
    virtual std::string header(std::string_view name) const = 0;

    // Where the keepalive timer runs (the connection's strand).
    virtual boost::asio::any_io_executor executor() = 0;
    // `callback` is called at most once, when the work should stop early; it must not block
    // and should hold only weak references.
    virtual void on_stop(std::function<void(ExecuteStop)> callback) = 0;

    // The whole answer at once; `retry_after` adds Retry-After (a refusal to retry later).
    virtual void respond(int status, std::string body, bool retry_after) = 0;
    // Status 200 and the headers now (application/json, chunked); then newlines to keep the
    // connection alive, and the JSON body last.
    virtual void begin_stream() = 0;
    virtual void keepalive() = 0;
    virtual void end_stream(std::string body) = 0;
};

}  // namespace lsr::server
