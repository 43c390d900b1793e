// The service's TLS contexts, built in one place with one policy: TLS 1.2 or newer only,
// and for clients, peer verification against the system store or a CA file. Failures come
// back as an error_code (a missing file, a key that does not match), never as an exception.
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <boost/system/error_code.hpp>
#include <memory>
#include <string>

namespace lsr::server {

class TlsContextBuilder {
  public:
    // A listener's context: the certificate chain and private key from PEM files.
    static std::unique_ptr<boost::asio::ssl::context> server_context(const std::string& cert_file,
                                                                     const std::string& key_file,
                                                                     boost::system::error_code& ec);
    // An outbound connection's context: peers must present a chain that verifies against
    // `ca_file` (PEM), or the system store when it is empty. Host names are checked per
    // connection (ClientStream).
    static std::unique_ptr<boost::asio::ssl::context> client_context(const std::string& ca_file,
                                                                     boost::system::error_code& ec);
};

}  // namespace lsr::server
