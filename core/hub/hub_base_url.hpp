// The URL Looker is given for the Action Hub (hub.base_url), and what can be told about it
// without the network. Pure: no I/O.
//
// When hub.base_url is not set, the URL follows the listener: https when the listener serves
// TLS, the listen host (a wildcard address such as 0.0.0.0 or :: becomes 127.0.0.1, since a
// URL cannot name "every address"), and the port the listener is bound to.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace lsr::core {

struct HubBaseUrl {
    std::string url;        // scheme://host[:port], no trailing slash
    bool wildcard = false;  // the listen host was a wildcard address (0.0.0.0, ::)

    static HubBaseUrl for_listener(bool tls, std::string_view listen_host, std::uint16_t port);

    // True for a host no Looker instance elsewhere can reach: localhost (and *.localhost),
    // 127.0.0.0/8, ::1, and the unspecified addresses 0.0.0.0 and ::.
    static bool local_only_host(std::string_view host);

    // Why Looker cannot use `url` as an Action Hub URL: a local-only host, plain http
    // (Looker requires HTTPS). Empty when nothing is wrong that can be seen from here.
    static std::vector<std::string> reachability_problems(std::string_view url);
};

}  // namespace lsr::core
