#include "server/http/http_answer.hpp"

#include <boost/beast/http/status.hpp>
#include <cstdio>

#include "core/json_out.hpp"
#include "core/text.hpp"

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

std::string HttpAnswer::error_json(std::string_view message) {
    std::string out;
    core::JsonOut json(out);
    json.raw('{');
    json.key("success");
    json.raw("false,");
    json.key("error");
    json.string(core::valid_utf8_text(message));  // valid UTF-8, whatever the message holds
    json.raw('}');
    return out;
}

}  // namespace lsr::server
