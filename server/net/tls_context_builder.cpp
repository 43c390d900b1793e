#include "server/net/tls_context_builder.hpp"

#include <boost/system/errc.hpp>
#include <boost/system/system_error.hpp>
#include <exception>

namespace lsr::server {

namespace ssl = boost::asio::ssl;

namespace {

constexpr auto kOptions = ssl::context::default_workarounds | ssl::context::no_sslv2 |
                          ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1;

// The context, or nullptr and `ec` set: creating one fails only when OpenSSL cannot.
std::unique_ptr<ssl::context> make_context(ssl::context::method method, boost::system::error_code& ec) {
    try {
        auto ctx = std::make_unique<ssl::context>(method);
        ctx->set_options(kOptions, ec);
        if (ec) return nullptr;
        return ctx;
    } catch (const boost::system::system_error& e) {
        ec = e.code();
    } catch (const std::exception&) {
        ec = boost::system::errc::make_error_code(boost::system::errc::not_enough_memory);
    }
    return nullptr;
}

}  // namespace

std::unique_ptr<ssl::context> TlsContextBuilder::server_context(const std::string& cert_file,
                                                                const std::string& key_file,
                                                                boost::system::error_code& ec) {
    ec.clear();
    auto ctx = make_context(ssl::context::tls_server, ec);
    if (!ctx) return nullptr;
    ctx->use_certificate_chain_file(cert_file, ec);
    if (!ec) ctx->use_private_key_file(key_file, ssl::context::pem, ec);
    if (ec) return nullptr;
    return ctx;
}

std::unique_ptr<ssl::context> TlsContextBuilder::client_context(const std::string& ca_file,
                                                                boost::system::error_code& ec) {
    ec.clear();
    auto ctx = make_context(ssl::context::tls_client, ec);
    if (!ctx) return nullptr;
    ctx->set_verify_mode(ssl::verify_peer, ec);
    if (ec) return nullptr;
    if (ca_file.empty()) {
        ctx->set_default_verify_paths(ec);
    } else {
        ctx->load_verify_file(ca_file, ec);
    }
    if (ec) return nullptr;
    return ctx;
}

}  // namespace lsr::server
