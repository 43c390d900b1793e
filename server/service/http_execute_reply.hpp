// An HTTP exchange as an execute job's reply (server/ingest/execute_reply.hpp).
#pragma once

#include <memory>

#include "server/http/http_exchange.hpp"
#include "server/ingest/execute_reply.hpp"

namespace lsr::server {

class HttpExecuteReply final : public ExecuteReply {
  public:
    explicit HttpExecuteReply(std::shared_ptr<HttpExchange> exchange) : exchange_(std::move(exchange)) {}

    const std::string& body() const override { return exchange_->body(); }
    const std::string& body_file() const override { return exchange_->body_file(); }
    std::string header(std::string_view name) const override;
    boost::asio::any_io_executor executor() override { return exchange_->executor(); }
    void on_stop(std::function<void(ExecuteStop)> callback) override;

    void respond(int status, std::string body, bool retry_after) override;
    void begin_stream() override;
    void keepalive() override;
    void end_stream(std::string body) override;

  private:
    std::shared_ptr<HttpExchange> exchange_;
};

}  // namespace lsr::server
