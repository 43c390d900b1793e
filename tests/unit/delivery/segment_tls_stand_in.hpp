// A TLS stand-in for the client tests: a self-signed certificate for "localhost" made at
// run time (EC P-256), a Beast/Asio TLS server on 127.0.0.1 port 0 answering 200 to every
// request, and the SNI names it saw.
#pragma once

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace lsr::test {

class SegmentTlsStandIn {
  public:
    SegmentTlsStandIn()
        : ctx_(boost::asio::ssl::context::tls_server),
          acceptor_(io_, {boost::asio::ip::make_address("127.0.0.1"), 0}) {
        make_certificate();
        SSL_CTX_use_certificate(ctx_.native_handle(), cert_);
        SSL_CTX_use_PrivateKey(ctx_.native_handle(), key_);
        SSL_CTX_set_tlsext_servername_callback(ctx_.native_handle(), &SegmentTlsStandIn::on_servername);
        SSL_CTX_set_tlsext_servername_arg(ctx_.native_handle(), this);
        do_accept();
        thread_ = std::thread([this] { io_.run(); });
    }
    ~SegmentTlsStandIn() {
        io_.stop();
        thread_.join();
        X509_free(cert_);
        EVP_PKEY_free(key_);
        std::error_code ec;
        std::filesystem::remove(ca_path_, ec);
    }

    unsigned short port() const { return acceptor_.local_endpoint().port(); }
    const std::string& ca_file() const { return ca_path_; }
    int answered() const { return answered_.load(); }
    std::vector<std::string> server_names() {
        std::lock_guard lock(mutex_);
        return names_;
    }

  private:
    using Stream = boost::asio::ssl::stream<boost::asio::ip::tcp::socket>;
    struct Conn {
        Conn(boost::asio::ip::tcp::socket s, boost::asio::ssl::context& c) : stream(std::move(s), c) {}
        Stream stream;
        boost::beast::flat_buffer buffer;
        boost::beast::http::request<boost::beast::http::string_body> req;
        boost::beast::http::response<boost::beast::http::string_body> res;
    };

    static int on_servername(SSL* ssl, int*, void* arg) {
        auto* self = static_cast<SegmentTlsStandIn*>(arg);
        const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
        std::lock_guard lock(self->mutex_);
        self->names_.push_back(name != nullptr ? name : "");
        return SSL_TLSEXT_ERR_OK;
    }

    void make_certificate() {
        key_ = EVP_EC_gen("P-256");
        cert_ = X509_new();
        X509_set_version(cert_, 2);
        ASN1_INTEGER_set(X509_get_serialNumber(cert_), 1);
        X509_gmtime_adj(X509_getm_notBefore(cert_), -3600);
        X509_gmtime_adj(X509_getm_notAfter(cert_), 3600);
        X509_set_pubkey(cert_, key_);
        X509_NAME* name = X509_get_subject_name(cert_);
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                   reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
        X509_set_issuer_name(cert_, name);
        X509V3_CTX v3;
        X509V3_set_ctx_nodb(&v3);
        X509V3_set_ctx(&v3, cert_, cert_, nullptr, nullptr, 0);
        for (auto [nid, value] : {std::pair{NID_subject_alt_name, "DNS:localhost"},
                                  std::pair{NID_basic_constraints, "critical,CA:TRUE"}}) {
            X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, nid, value);
            X509_add_ext(cert_, ext, -1);
            X509_EXTENSION_free(ext);
        }
        X509_sign(cert_, key_, EVP_sha256());
        static int counter = 0;
        ca_path_ =
            (std::filesystem::temp_directory_path() /
             ("lsr-tls-stand-in-" + std::to_string(::getpid()) + "-" + std::to_string(++counter) + ".pem"))
                .string();
        FILE* f = std::fopen(ca_path_.c_str(), "w");
        PEM_write_X509(f, cert_);
        std::fclose(f);
    }

    void do_accept() {
        acceptor_.async_accept([this](boost::system::error_code ec, boost::asio::ip::tcp::socket s) {
            if (ec) return;
            auto c = std::make_shared<Conn>(std::move(s), ctx_);
            c->stream.async_handshake(boost::asio::ssl::stream_base::server,
                                      [this, c](boost::system::error_code hec) {
                                          if (hec) return;
                                          read(c);
                                      });
            do_accept();
        });
    }

    void read(std::shared_ptr<Conn> c) {
        c->req = {};
        boost::beast::http::async_read(
            c->stream, c->buffer, c->req, [this, c](boost::system::error_code ec, std::size_t) {
                if (ec) return;
                ++answered_;  // before the answer goes out: a client holding it sees the count
                c->res = {boost::beast::http::status::ok, 11};
                c->res.body() = R"({"success":true})";
                c->res.keep_alive(true);
                c->res.prepare_payload();
                boost::beast::http::async_write(c->stream, c->res,
                                                [this, c](boost::system::error_code wec, std::size_t) {
                                                    if (wec) return;
                                                    read(c);
                                                });
            });
    }

    boost::asio::io_context io_;
    boost::asio::ssl::context ctx_;
    boost::asio::ip::tcp::acceptor acceptor_;
    std::thread thread_;
    EVP_PKEY* key_ = nullptr;
    X509* cert_ = nullptr;
    std::string ca_path_;
    std::mutex mutex_;
    std::vector<std::string> names_;
    std::atomic<int> answered_{0};
};

}  // namespace lsr::test
