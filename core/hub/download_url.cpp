#include "core/hub/download_url.hpp"

#include <algorithm>

#include "core/ascii_lower.hpp"

namespace lsr::core {

namespace {

bool is_hex(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool is_alnum(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// RFC 3986 unreserved, reserved (gen-delims and sub-delims) and '%'.
bool uri_char(char c) {
    static constexpr std::string_view kPunctuation = "-._~:/?#[]@!$&'()*+,;=%";
    return is_alnum(c) || kPunctuation.find(c) != std::string_view::npos;
}

// Checks every byte of the URL; empty when fine, otherwise why not.
std::string character_problem(std::string_view text) {
    for (std::size_t i = 0; i < text.size(); ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c < 0x20 || c == 0x7f) return "The download_url contains a control character.";
        if (c == ' ') return "The download_url contains a space.";
        if (c >= 0x80)
            return "The download_url contains a character that is not ASCII (it must be percent-encoded).";
        if (c == '%') {
            if (i + 2 >= text.size() || !is_hex(text[i + 1]) || !is_hex(text[i + 2]))
                return "The download_url contains an invalid percent-encoding.";
            i += 2;
            continue;
        }
        if (!uri_char(static_cast<char>(c)))
            return "The download_url contains a character not allowed in a URL.";
    }
    return {};
}

bool valid_reg_name(std::string_view host) {
    if (host.empty() || host.size() > 253) return false;
    return std::all_of(host.begin(), host.end(), [](char c) { return is_alnum(c) || c == '-' || c == '.'; });
}

bool valid_ipv6(std::string_view host) {
    if (host.size() < 2 || host.find(':') == std::string_view::npos) return false;
    return std::all_of(host.begin(), host.end(), [](char c) { return is_hex(c) || c == ':' || c == '.'; });
}

// "1".."65535"; 0 when not a port.
std::uint32_t parse_port(std::string_view s) {
    if (s.empty() || s.size() > 5) return 0;
    std::uint32_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return 0;
        v = v * 10 + static_cast<std::uint32_t>(c - '0');
    }
    return v <= 65535 ? v : 0;
}

struct AllowEntry {
    std::string host;        // lower case, no brackets; "*.x" for a wildcard
    std::uint32_t port = 0;  // 0: none named
    bool valid = false;
};

AllowEntry parse_entry(std::string_view e) {
    AllowEntry out;
    std::string_view host = e, port;
    if (!e.empty() && e.front() == '[') {
        const auto close = e.find(']');
        if (close == std::string_view::npos) return out;
        host = e.substr(1, close - 1);
        auto after = e.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') return out;
            port = after.substr(1);
        }
    } else if (std::count(e.begin(), e.end(), ':') == 1) {
        const auto colon = e.find(':');
        host = e.substr(0, colon);
        port = e.substr(colon + 1);
    }
    if (host.empty()) return out;
    if (!port.empty() || (e.size() > host.size() && e.back() == ':')) {
        out.port = parse_port(port);
        if (out.port == 0) return out;
    }
    out.host = ascii_lower(host);
    out.valid = true;
    return out;
}

bool host_matches(const std::string& pattern, const std::string& host) {
    if (pattern == host) return true;
    // "*.example.com" allows every sub-domain of example.com (not example.com itself).
    if (pattern.size() > 2 && pattern.compare(0, 2, "*.") == 0 && host.size() > pattern.size() - 1 &&
        host.compare(host.size() - (pattern.size() - 1), pattern.size() - 1, pattern, 1, std::string::npos) ==
            0)
        return true;
    return false;
}

}  // namespace

std::string DownloadUrl::host_header() const {
    std::string out = host.find(':') != std::string::npos ? "[" + host + "]" : host;
    const bool default_port = (tls && port == 443) || (!tls && port == 80);
    if (!default_port) out += ":" + std::to_string(port);
    return out;
}

bool DownloadUrl::is_loopback(std::string_view host) {
    const std::string h = ascii_lower(host);
    return h == "127.0.0.1" || h == "localhost" || h == "::1";
}

std::optional<DownloadUrl> DownloadUrl::parse(std::string_view text, std::string& error) {
    if (auto problem = character_problem(text); !problem.empty()) {
        error = std::move(problem);
        return std::nullopt;
    }
    DownloadUrl u;
    const auto sep = text.find("://");
    if (sep == std::string_view::npos) {
        error = "The download_url is not an absolute http(s) URL.";
        return std::nullopt;
    }
    const std::string scheme = ascii_lower(text.substr(0, sep));
    if (scheme == "https") {
        u.tls = true;
    } else if (scheme == "http") {
        u.tls = false;
    } else {
        error = "The download_url scheme \"" + scheme + "\" is not supported.";
        return std::nullopt;
    }
    const auto rest = text.substr(sep + 3);
    const auto path_start = rest.find_first_of("/?#");
    const auto authority = rest.substr(0, path_start);
    std::string_view target =
        path_start == std::string_view::npos ? std::string_view() : rest.substr(path_start);
    if (auto hash = target.find('#'); hash != std::string_view::npos) target = target.substr(0, hash);
    if (authority.find('@') != std::string_view::npos) {
        error = "The download_url must not carry credentials.";
        return std::nullopt;
    }
    std::string_view host, port;
    bool bracketed = false;
    if (!authority.empty() && authority.front() == '[') {
        const auto close = authority.find(']');
        if (close == std::string_view::npos) {
            error = "The download_url has a malformed host.";
            return std::nullopt;
        }
        host = authority.substr(1, close - 1);
        bracketed = true;
        const auto after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') {
                error = "The download_url has a malformed host.";
                return std::nullopt;
            }
            port = after.substr(1);
            if (port.empty()) port = "x";  // "[::1]:" is refused below
        }
    } else {
        const auto colon = authority.find(':');
        host = authority.substr(0, colon);
        if (colon != std::string_view::npos) {
            port = authority.substr(colon + 1);
            if (port.empty()) port = "x";
        }
    }
    if (host.empty()) {
        error = "The download_url has no host.";
        return std::nullopt;
    }
    if (bracketed ? !valid_ipv6(host) : !valid_reg_name(host)) {
        error = "The download_url has a malformed host.";
        return std::nullopt;
    }
    std::uint32_t port_number = u.tls ? 443 : 80;
    if (!port.empty()) {
        port_number = parse_port(port);
        if (port_number == 0) {
            error = "The download_url has an invalid port.";
            return std::nullopt;
        }
    }
    if (target.find_first_of("[]") != std::string_view::npos) {
        error = "The download_url contains a character not allowed in a URL.";
        return std::nullopt;
    }
    u.host = ascii_lower(host);
    u.port = static_cast<std::uint16_t>(port_number);
    if (target.empty()) {
        u.target = "/";
    } else if (target.front() == '?') {
        u.target = "/" + std::string(target);
    } else {
        u.target = std::string(target);
    }
    return u;
}

std::optional<DownloadUrl> DownloadUrl::check(std::string_view text,
                                              const std::vector<std::string>& allowed_hosts,
                                              bool allow_loopback_http, std::string& error) {
    auto u = parse(text, error);
    if (!u) return std::nullopt;
    const std::uint16_t default_port = u->tls ? 443 : 80;
    const bool loopback_test = allow_loopback_http && !u->tls && is_loopback(u->host);
    bool host_listed = false;
    bool allowed = false;
    for (const auto& raw : allowed_hosts) {
        const AllowEntry e = parse_entry(raw);
        if (!e.valid || !host_matches(e.host, u->host)) continue;
        host_listed = true;
        if (e.port != 0 ? e.port == u->port : (u->port == default_port || loopback_test)) {
            allowed = true;
            break;
        }
    }
    if (!host_listed) {
        error = "The download_url host \"" + u->host + "\" is not in hub.download.allowed_hosts.";
        return std::nullopt;
    }
    if (!allowed) {
        error = "The download_url port " + std::to_string(u->port) + " of host \"" + u->host +
                "\" is not in hub.download.allowed_hosts (an entry without a port allows port " +
                std::to_string(default_port) + " only).";
        return std::nullopt;
    }
    if (!u->tls && !(allow_loopback_http && is_loopback(u->host))) {
        error = "The download_url must use https.";
        return std::nullopt;
    }
    return u;
}

}  // namespace lsr::core
