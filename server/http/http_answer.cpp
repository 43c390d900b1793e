#include "server/http/http_answer.hpp"

#include <boost/beast/http/status.hpp>
#include <cstdio>

namespace lsr::server {

std::string HttpAnswer::head(bool close, bool no_body) const {
    namespace http = boost::beast::http;
    std::string out = "HTTP/1.1 " + std::to_string(status) + " ";
    out += std::string(http::obsolete_reason(static_cast<http::status>(status)));
    out += "\r\nServer: looker-segment-relay\r\n";
    if (!content_type.empty()) out += "Content-Type: " + content_type + "\r\n";
    out += head_extra;
    if (close) out += "Connection: close\r\n";
    if (stream) {
        out += "Transfer-Encoding: chunked\r\n\r\n";
        return out;
    }
    out += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
    if (!no_body) out += body;
    return out;
}

std::string HttpAnswer::chunk(std::string_view data, bool last) {
    std::string out;
    if (!data.empty()) {
        char size[24];
        std::snprintf(size, sizeof size, "%zx\r\n", data.size());
        out = size;
        out += data;
        out += "\r\n";
    }
    if (last) out += "0\r\n\r\n";
    return out;
}

}  // namespace lsr::server
