#include "server/delivery/segment_endpoint.hpp"

#include <algorithm>
#include <cctype>

namespace lsr::server {

std::optional<SegmentEndpoint> SegmentEndpoint::from_config(const config::SegmentConfig& cfg,
                                                            std::string& error) {
    if (cfg.region == "us" || cfg.region == "eu") {
        if (!cfg.endpoint.empty()) {
            error = "segment.endpoint is set but segment.region is '" + cfg.region +
                    "': set region to 'custom' to use a custom endpoint";
            return std::nullopt;
        }
        return parse_url(cfg.region == "us" ? kUsUrl : kEuUrl, error);
    }
    if (cfg.region == "custom") {
        if (cfg.endpoint.empty()) {
            error = "segment.region is 'custom' but segment.endpoint is empty";
            return std::nullopt;
        }
        return parse_url(cfg.endpoint, error);
    }
    error = "segment.region must be us, eu or custom, not '" + cfg.region + "'";
    return std::nullopt;
}

std::optional<SegmentEndpoint> SegmentEndpoint::parse_url(std::string_view url, std::string& error) {
    SegmentEndpoint ep;
    std::string_view rest;
    if (url.starts_with("https://")) {
        ep.tls_ = true;
        rest = url.substr(8);
    } else if (url.starts_with("http://")) {
        ep.tls_ = false;
        rest = url.substr(7);
    } else {
        error = "segment endpoint must start with https:// or http://: '" + std::string(url) + "'";
        return std::nullopt;
    }
    const auto slash = rest.find('/');
    std::string_view authority = rest.substr(0, slash);
    std::string_view path = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash);
    if (authority.find('@') != std::string_view::npos || path.find_first_of("?#") != std::string_view::npos) {
        error = "segment endpoint must not carry credentials, a query or a fragment";
        return std::nullopt;
    }
    std::string_view host;
    std::string_view port;
    if (authority.starts_with("[")) {
        const auto close = authority.find(']');
        if (close == std::string_view::npos) {
            error = "segment endpoint has an unterminated IPv6 literal";
            return std::nullopt;
        }
        host = authority.substr(1, close - 1);
        const auto after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') {
                error = "segment endpoint: unexpected text after the IPv6 literal";
                return std::nullopt;
            }
            port = after.substr(1);
        }
    } else {
        const auto colon = authority.rfind(':');
        host = authority.substr(0, colon);
        if (colon != std::string_view::npos) {
            port = authority.substr(colon + 1);
        }
    }
    if (host.empty()) {
        error = "segment endpoint has no host";
        return std::nullopt;
    }
    if (port.empty()) {
        port = ep.tls_ ? "443" : "80";
    } else {
        const bool digits = port.size() <= 5 && std::all_of(port.begin(), port.end(), [](char c) {
                                return std::isdigit(static_cast<unsigned char>(c)) != 0;
                            });
        if (!digits || std::stoul(std::string(port)) == 0 || std::stoul(std::string(port)) > 65535) {
            error = "segment endpoint has an invalid port '" + std::string(port) + "'";
            return std::nullopt;
        }
    }
    while (!path.empty() && path.back() == '/') {
        path.remove_suffix(1);
    }
    ep.host_ = std::string(host);
    ep.port_ = std::string(port);
    ep.base_path_ = std::string(path);
    const bool v6 = ep.host_.find(':') != std::string::npos;
    ep.host_header_ = v6 ? "[" + ep.host_ + "]" : ep.host_;
    if (ep.port_ != (ep.tls_ ? "443" : "80")) {
        ep.host_header_ += ":" + ep.port_;
    }
    return ep;
}

std::string SegmentEndpoint::url() const {
    return std::string(tls_ ? "https://" : "http://") + host_header_ + base_path_;
}

}  // namespace lsr::server
