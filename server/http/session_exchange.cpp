#include "server/http/session_exchange.hpp"

#include <unistd.h>

#include <boost/asio/post.hpp>

namespace lsr::server {

SessionExchange::SessionExchange(std::shared_ptr<HttpSession> session, http::request_header<> header,
                                 std::string path, std::vector<std::pair<std::string, std::string>> params,
                                 std::string remote, std::string route_label, std::string body,
                                 std::string body_file, std::uint64_t body_size)
    : session_(std::move(session)),
      header_(std::move(header)),
      path_(std::move(path)),
      params_(std::move(params)),
      remote_(std::move(remote)),
      route_label_(std::move(route_label)),
      body_(std::move(body)),
      body_file_(std::move(body_file)),
      body_size_(body_size) {}

SessionExchange::~SessionExchange() {
    if (!body_file_.empty()) ::unlink(body_file_.c_str());
    if (!answered_.load()) {
        // A handler dropped the exchange without answering: never leave the client hanging.
        HttpSession::Answer a;
        a.status = 500;
        a.content_type = "application/json";
        a.body = HttpAnswer::error_json("Internal server error.");
        boost::asio::post(session_->executor(),
                          [s = session_, a = std::move(a)]() mutable { s->send(std::move(a)); });
    } else if (!ended_.load()) {
        boost::asio::post(session_->executor(), [s = session_]() { s->send_chunk({}, true); });
    }
}

std::string_view SessionExchange::path_param(std::string_view name) const {
    for (const auto& [k, v] : params_)
        if (k == name) return v;
    return {};
}

void SessionExchange::respond(http::status status, std::string body, std::string_view content_type,
                              std::initializer_list<std::pair<http::field, std::string>> extra) {
    if (answered_.exchange(true)) return;
    ended_ = true;
    HttpSession::Answer a;
    a.status = static_cast<unsigned>(status);
    a.content_type = std::string(content_type);
    a.body = std::move(body);
    for (const auto& [field, value] : extra) {
        a.head_extra += std::string(http::to_string(field));
        a.head_extra += ": ";
        a.head_extra += value;
        a.head_extra += "\r\n";
    }
    boost::asio::post(session_->executor(),
                      [s = session_, a = std::move(a)]() mutable { s->send(std::move(a)); });
}

void SessionExchange::begin_stream(http::status status, std::string_view content_type) {
    if (answered_.exchange(true)) return;
    HttpSession::Answer a;
    a.status = static_cast<unsigned>(status);
    a.content_type = std::string(content_type);
    a.stream = true;
    a.last = false;
    boost::asio::post(session_->executor(),
                      [s = session_, a = std::move(a)]() mutable { s->send(std::move(a)); });
}

void SessionExchange::write_chunk(std::string data) {
    if (!answered_.load() || ended_.load() || data.empty()) return;
    boost::asio::post(session_->executor(),
                      [s = session_, d = std::move(data)]() mutable { s->send_chunk(std::move(d), false); });
}

void SessionExchange::end_stream(std::string last_data) {
    if (!answered_.load() || ended_.exchange(true)) return;
    boost::asio::post(session_->executor(), [s = session_, d = std::move(last_data)]() mutable {
        s->send_chunk(std::move(d), true);
    });
}

}  // namespace lsr::server

namespace lsr::server {

void SessionExchange::on_interrupt(std::function<void(Interruption)> callback) {
    if (ended_.load()) return;
    boost::asio::post(session_->executor(), [s = session_, cb = std::move(callback)]() mutable {
        s->set_interrupt_handler(std::move(cb));
    });
}

}  // namespace lsr::server
