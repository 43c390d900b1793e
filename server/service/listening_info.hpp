// What `serve` reports once its listeners are bound (RelayApp::on_listening).
#pragma once

#include <cstdint>
#include <string>

namespace lsr::server {

// Where the relay ended up listening, once it does (ports as bound: a port 0 in the config
// is the one the kernel gave).
struct ListeningInfo {
    std::string listen_host;
    std::uint16_t port = 0;
    std::string admin_host;  // empty: no admin listener
    std::uint16_t admin_port = 0;
    bool tls = false;
    std::string base_url;            // the Action Hub URL advertised to Looker
    bool base_url_followed = false;  // hub.base_url not set: base_url follows the listener
    bool wildcard_host = false;      // followed from 0.0.0.0 / ::, shown as 127.0.0.1
};

}  // namespace lsr::server
