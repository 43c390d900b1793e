// Where batches go: region us -> https://api.segment.io, eu -> https://events.eu1.segmentapis.com,
// custom -> cfg.endpoint (scheme://host[:port][/prefix], http:// allowed for tests and proxies).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "config/config.hpp"

namespace lsr::server {

class SegmentEndpoint {
  public:
    static constexpr std::string_view kUsUrl = "https://api.segment.io";
    static constexpr std::string_view kEuUrl = "https://events.eu1.segmentapis.com";

    // From region + endpoint; nullopt with `error` set when the pair is invalid.
    static std::optional<SegmentEndpoint> from_config(const config::SegmentConfig& cfg, std::string& error);
    // scheme://host[:port][/prefix]; IPv6 literals in brackets.
    static std::optional<SegmentEndpoint> parse_url(std::string_view url, std::string& error);

    bool tls() const { return tls_; }
    const std::string& host() const { return host_; }  // without brackets
    const std::string& port() const { return port_; }
    const std::string& host_header() const { return host_header_; }
    std::string batch_target() const { return base_path_ + "/v1/batch"; }
    std::string url() const;  // for logs: scheme://host[:port][/prefix]

  private:
    bool tls_ = true;
    std::string host_;
    std::string port_;
    std::string host_header_;
    std::string base_path_;  // "" or "/prefix" without a trailing slash
};

}  // namespace lsr::server
