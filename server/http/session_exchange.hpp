// The HttpExchange a session hands to handlers. Keeps its session alive until answered;
// every answer call is posted onto the session's strand, so handlers may answer from any
// thread. Removes the request's temp body file when destroyed.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "server/http/http_exchange.hpp"
#include "server/http/http_session.hpp"

namespace lsr::server {

class SessionExchange final : public HttpExchange {
  public:
    SessionExchange(std::shared_ptr<HttpSession> session, http::request_header<> header, std::string path,
                    std::vector<std::pair<std::string, std::string>> params, std::string remote,
                    std::string route_label, std::string body, std::string body_file,
                    std::uint64_t body_size);
    ~SessionExchange() override;

    const http::request_header<>& header() const override { return header_; }
    std::string_view path() const override { return path_; }
    std::string_view path_param(std::string_view name) const override;
    std::string_view remote_address() const override { return remote_; }
    const std::string& route_label() const override { return route_label_; }
    const std::string& body() const override { return body_; }
    const std::string& body_file() const override { return body_file_; }
    std::uint64_t body_size() const override { return body_size_; }

    using HttpExchange::respond;
    void respond(http::status status, std::string body, std::string_view content_type,
                 std::initializer_list<std::pair<http::field, std::string>> extra) override;
    void begin_stream(http::status status, std::string_view content_type) override;
    void write_chunk(std::string data) override;
    void end_stream(std::string last_data) override;
    bool answered() const override { return answered_.load(); }
    boost::asio::any_io_executor executor() override { return session_->executor(); }
    void on_interrupt(std::function<void(Interruption)> callback) override;

  private:
    std::shared_ptr<HttpSession> session_;
    http::request_header<> header_;
    std::string path_;
    std::vector<std::pair<std::string, std::string>> params_;
    std::string remote_;
    std::string route_label_;
    std::string body_;
    std::string body_file_;
    std::uint64_t body_size_;
    std::atomic<bool> answered_{false};
    std::atomic<bool> ended_{false};
};

}  // namespace lsr::server
