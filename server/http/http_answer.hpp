// An answer as the session writes it: the status line and headers, then the body whole
// (Content-Length) or in chunks. Pure formatting.
#pragma once

#include <string>
#include <string_view>

namespace lsr::server {

struct HttpAnswer {
    unsigned status = 200;
    std::string head_extra;  // "Name: value\r\n" lines
    std::string content_type;
    std::string body;
    bool stream = false;  // chunked: body is the first chunk (may be empty)
    bool last = true;     // stream: this write ends the answer

    // The status line and headers; a whole answer's body follows unless `no_body` (HEAD).
    std::string head(bool close, bool no_body) const;
    // One chunk of a streamed answer, and the last-chunk marker when `last`; "" if neither.
    static std::string chunk(std::string_view data, bool last);
    // {"success":false,"error":"<message>"}: the body of every error the server answers itself.
    static std::string error_json(std::string_view message);
};

}  // namespace lsr::server
