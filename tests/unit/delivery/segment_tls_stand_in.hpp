// A TLS stand-in for the client tests: a self-signed certificate for "localhost" made at
// run time (TestCertificate), a Beast/Asio TLS server on 127.0.0.1 port 0 answering 200 to every
// request, and the SNI names it saw.
#pragma once

#include <openssl/ssl.h>

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

#include "../net/test_certificate.hpp"

namespace lsr::test {

class SegmentTlsStandIn {
  public:
    SegmentTlsStandIn()
        : ctx_(boost::asio::ssl::context::tls_server),
          acceptor_(io_, {boost::asio::ip::make_address("127.0.0.1"), 0}) {
        ctx_.use_certificate_file(certificate_.cert_file(), boost::asio::ssl::context::pem);
        ctx_.use_private_key_file(certificate_.key_file(), boost::asio::ssl::context::pem);
        SSL_CTX_set_tlsext_servername_callback(ctx_.native_handle(), &SegmentTlsStandIn::on_servername);
        SSL_CTX_set_tlsext_servername_arg(ctx_.native_handle(), this);
        do_accept();
        thread_ = std::thread([this] { io_.run(); });
    }
    ~SegmentTlsStandIn() {
        io_.stop();
        thread_.join();
    }

    unsigned short port() const { return acceptor_.local_endpoint().port(); }
    const std::string& ca_file() const { return certificate_.cert_file(); }
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
    TestCertificate certificate_;  // its files outlive the server
    boost::asio::ssl::context ctx_;
    boost::asio::ip::tcp::acceptor acceptor_;
    std::thread thread_;
    std::mutex mutex_;
    std::vector<std::string> names_;
    std::atomic<int> answered_{0};
};

}  // namespace lsr::test
