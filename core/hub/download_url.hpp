// A `scheduled_plan.download_url` taken apart and checked before anything is fetched
// (DESIGN §6, reference §1.7). Pure: no I/O.
//
// Parsing is strict, so the request the relay sends is built only from parts it understood:
// - only the characters RFC 3986 allows in a URI; control characters (CR, LF, NUL...), spaces,
//   non-ASCII bytes and backslashes are refused, and every '%' must start a %XX escape;
// - http or https, an authority without credentials, a host name, IPv4 or [IPv6] address
//   (no percent escapes, no zone id), an optional port 1-65535; the fragment is dropped.
//
// The allowlist (hub.download.allowed_hosts) names hosts and ports:
// - "host" allows that host on the scheme's default port only (443 for https, 80 for http);
// - "host:port" ("[v6]:port" for IPv6) allows exactly that port;
// - "*.example.com" (optionally ":port") allows every sub-domain of example.com, not the domain;
// - in the test mode (allow_loopback_http), a loopback host listed without a port is allowed
//   over plain http on any port, because the test stand-ins bind a free port.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lsr::core {

struct DownloadUrl {
    bool tls = true;
    std::string host;        // lower case; without brackets for IPv6 literals
    std::uint16_t port = 0;  // the explicit port, or the scheme's default
    std::string target;      // path and query, starting with '/', validated

    // The Host header value: brackets for IPv6, ":port" unless it is the scheme's default.
    std::string host_header() const;

    // Parses `text`; nullopt and `error` (fit for the execute answer, never echoing the URL's
    // query) when it is not a URL the relay may request.
    static std::optional<DownloadUrl> parse(std::string_view text, std::string& error);

    // Parses and checks against the allowlist and the scheme rule (https only, unless
    // allow_loopback_http and a loopback host).
    static std::optional<DownloadUrl> check(std::string_view text,
                                            const std::vector<std::string>& allowed_hosts,
                                            bool allow_loopback_http, std::string& error);

    static bool is_loopback(std::string_view host);
};

}  // namespace lsr::core
