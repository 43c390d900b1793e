// How a request's body is delimited, checked on the headers before any of the body is read
// (RFC 9112 §6.1, §6.3). A Transfer-Encoding whose final coding is not `chunked`, `chunked`
// applied twice, Transfer-Encoding together with Content-Length, or Transfer-Encoding on an
// HTTP/1.0 request leave the body's length ambiguous between the relay and whatever stands in
// front of it (request smuggling): 400, and the connection is closed. Codings the relay does
// not implement before a final `chunked` (gzip, chunked): 501, and closed too.
#pragma once

#include <optional>
#include <string>

#include "server/http/http_exchange.hpp"

namespace lsr::server {

struct FramingRefusal {
    unsigned status;
    std::string message;
};

std::optional<FramingRefusal> check_request_framing(const http::request_header<>& header);

}  // namespace lsr::server
