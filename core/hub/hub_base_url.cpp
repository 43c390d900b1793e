#include "core/hub/hub_base_url.hpp"

#include "core/ascii_lower.hpp"
#include "core/hub/download_url.hpp"

namespace lsr::core {

namespace {

bool ends_with(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::string_view strip_brackets(std::string_view host) {
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') return host.substr(1, host.size() - 2);
    return host;
}

bool unspecified(std::string_view host) {
    return host.empty() || host == "0.0.0.0" || host == "::" || host == "0:0:0:0:0:0:0:0";
}

}  // namespace

HubBaseUrl HubBaseUrl::for_listener(bool tls, std::string_view listen_host, std::uint16_t port) {
    HubBaseUrl out;
    std::string host(strip_brackets(listen_host));
    if (unspecified(host)) {
        out.wildcard = true;
        host = "127.0.0.1";
    }
    if (host.find(':') != std::string::npos) host = "[" + host + "]";
    out.url = std::string(tls ? "https://" : "http://") + host;
    const std::uint16_t default_port = tls ? 443 : 80;
    if (port != default_port) out.url += ":" + std::to_string(port);
    return out;
}

bool HubBaseUrl::local_only_host(std::string_view host_in) {
    const std::string host = ascii_lower(strip_brackets(host_in));
    if (unspecified(host)) return true;
    if (host == "localhost" || ends_with(host, ".localhost") || host == "localhost.") return true;
    if (host == "::1" || host == "0:0:0:0:0:0:0:1") return true;
    return host.rfind("127.", 0) == 0 && host.find_first_not_of("0123456789.") == std::string::npos;
}

std::vector<std::string> HubBaseUrl::reachability_problems(std::string_view url) {
    std::vector<std::string> out;
    std::string error;
    const auto parsed = DownloadUrl::parse(url, error);
    if (!parsed) return out;  // not a URL at all: the validator's error says so
    if (local_only_host(parsed->host)) {
        out.push_back("host \"" + parsed->host +
                      "\" is only reachable from this machine; Looker needs the relay's public name");
    }
    if (!parsed->tls) out.push_back("plain http: Looker only calls an Action Hub over https://");
    return out;
}

}  // namespace lsr::core
