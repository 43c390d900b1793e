#include "server/net/tls_context_builder.hpp"

#include <openssl/ssl.h>

#include <catch2/catch.hpp>

#include "test_certificate.hpp"

using lsr::server::TlsContextBuilder;

TEST_CASE("TlsContextBuilder: a server context from a certificate and its key", "[tls_context_builder]") {
    lsr::test::TestCertificate cert;
    boost::system::error_code ec;
    auto ctx = TlsContextBuilder::server_context(cert.cert_file(), cert.key_file(), ec);
    REQUIRE(ctx);
    CHECK_FALSE(ec);
    const auto options = SSL_CTX_get_options(ctx->native_handle());
    CHECK((options & SSL_OP_NO_TLSv1) != 0);
    CHECK((options & SSL_OP_NO_TLSv1_1) != 0);
}

TEST_CASE("TlsContextBuilder: missing or mismatched files are errors, not exceptions",
          "[tls_context_builder]") {
    lsr::test::TestCertificate cert;
    lsr::test::TestCertificate other;
    boost::system::error_code ec;
    std::unique_ptr<boost::asio::ssl::context> ctx;

    CHECK_NOTHROW(ctx = TlsContextBuilder::server_context("/nonexistent/cert.pem", cert.key_file(), ec));
    CHECK_FALSE(ctx);
    CHECK(ec);

    ec.clear();
    CHECK_NOTHROW(ctx = TlsContextBuilder::server_context(cert.cert_file(), "/nonexistent/key.pem", ec));
    CHECK_FALSE(ctx);
    CHECK(ec);

    ec.clear();  // a key that belongs to another certificate
    CHECK_NOTHROW(ctx = TlsContextBuilder::server_context(cert.cert_file(), other.key_file(), ec));
    CHECK_FALSE(ctx);
    CHECK(ec);

    ec.clear();
    CHECK_NOTHROW(ctx = TlsContextBuilder::client_context("/nonexistent/ca.pem", ec));
    CHECK_FALSE(ctx);
    CHECK(ec);
}

TEST_CASE("TlsContextBuilder: a client context verifies peers, TLS 1.2 and newer", "[tls_context_builder]") {
    lsr::test::TestCertificate cert;
    for (const std::string& ca_file : {std::string(), cert.cert_file()}) {
        boost::system::error_code ec;
        auto ctx = TlsContextBuilder::client_context(ca_file, ec);
        REQUIRE(ctx);
        CHECK_FALSE(ec);
        CHECK((SSL_CTX_get_verify_mode(ctx->native_handle()) & SSL_VERIFY_PEER) != 0);
        const auto options = SSL_CTX_get_options(ctx->native_handle());
        CHECK((options & SSL_OP_NO_SSLv3) != 0);
        CHECK((options & SSL_OP_NO_TLSv1) != 0);
        CHECK((options & SSL_OP_NO_TLSv1_1) != 0);
    }
}
