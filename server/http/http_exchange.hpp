// One request and its answer, handed to a route handler. The handler may answer at once or
// later from any thread (calls are posted to the session's strand), exactly once: either
// respond(), or begin_stream() + write_chunk()* + end_stream().
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/verb.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace lsr::server {

namespace http = boost::beast::http;

// Why a handler's work should stop before it is done.
enum class Interruption {
    client_gone,    // the client closed or reset the connection: the answer goes nowhere
    shutting_down,  // the drain's grace period ran out: answer now with what there is
};

class HttpExchange {
  public:
    virtual ~HttpExchange() = default;

    virtual const http::request_header<>& header() const = 0;
    virtual std::string_view path() const = 0;                             // target without the query string
    virtual std::string_view path_param(std::string_view name) const = 0;  // "{name}" in the route
    virtual std::string_view remote_address() const = 0;
    virtual const std::string& route_label() const = 0;  // e.g. "/actions/{name}/execute"

    // Small-body routes: the body in memory. Large-body routes: the body in a temp file
    // (deleted when the exchange is destroyed), body() empty.
    virtual const std::string& body() const = 0;
    virtual const std::string& body_file() const = 0;
    virtual std::uint64_t body_size() const = 0;

    // A whole answer: a JSON body, or one of `content_type`, with `extra` headers.
    void respond(http::status status, std::string body) {
        respond(status, std::move(body), "application/json", {});
    }
    void respond(http::status status, std::string body, std::string_view content_type) {
        respond(status, std::move(body), content_type, {});
    }
    virtual void respond(http::status status, std::string body, std::string_view content_type,
                         std::initializer_list<std::pair<http::field, std::string>> extra) = 0;

    // Streamed answer: the status line and headers go now (chunked encoding).
    virtual void begin_stream(http::status status, std::string_view content_type) = 0;
    virtual void write_chunk(std::string data) = 0;
    virtual void end_stream(std::string last_data) = 0;

    virtual bool answered() const = 0;                    // respond() or begin_stream() was called
    virtual boost::asio::any_io_executor executor() = 0;  // the session's strand

    // Long-running handlers: `callback` is called at most once, from the session's strand,
    // when the request should stop early (see Interruption); it must not block. It is never
    // called after the answer ended. Hold only weak references in it. Default: never called.
    virtual void on_interrupt(std::function<void(Interruption)> callback) { (void)callback; }
};

using Handler = std::function<void(std::shared_ptr<HttpExchange>)>;

}  // namespace lsr::server
