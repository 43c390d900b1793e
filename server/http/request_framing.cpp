#include "server/http/request_framing.hpp"

#include <boost/beast/core/string.hpp>
#include <string_view>
#include <vector>

namespace lsr::server {

namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

// Every coding of every Transfer-Encoding field, in order; empty list elements are skipped
// (RFC 9110 §5.6.1).
std::vector<std::string_view> codings(const http::request_header<>& header) {
    std::vector<std::string_view> out;
    for (auto it = header.find(http::field::transfer_encoding);
         it != header.end() && it->name() == http::field::transfer_encoding; ++it) {
        std::string_view v = it->value();
        while (!v.empty()) {
            const auto comma = v.find(',');
            const auto item = trim(v.substr(0, comma));
            if (!item.empty()) out.push_back(item);
            if (comma == std::string_view::npos) break;
            v.remove_prefix(comma + 1);
        }
    }
    return out;
}

}  // namespace

std::optional<FramingRefusal> check_request_framing(const http::request_header<>& header) {
    if (header.find(http::field::transfer_encoding) == header.end()) return std::nullopt;
    if (header.version() < 11)
        return FramingRefusal{400, "Transfer-Encoding is not allowed in an HTTP/1.0 request."};
    if (header.find(http::field::content_length) != header.end())
        return FramingRefusal{400, "A request must not carry both Transfer-Encoding and Content-Length."};
    const auto list = codings(header);
    if (list.empty() || !boost::beast::iequals(list.back(), "chunked"))
        return FramingRefusal{400, "The final Transfer-Encoding of a request must be chunked."};
    for (std::size_t i = 0; i + 1 < list.size(); ++i) {
        if (boost::beast::iequals(list[i], "chunked"))
            return FramingRefusal{400, "Transfer-Encoding applies chunked more than once."};
    }
    if (list.size() > 1) return FramingRefusal{501, "Transfer codings other than chunked are not supported."};
    return std::nullopt;
}

}  // namespace lsr::server
