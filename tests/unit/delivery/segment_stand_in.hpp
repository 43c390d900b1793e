// A tiny stand-in Segment server for the server unit tests: Beast over plain TCP on
// 127.0.0.1 port 0, its own io_context and thread, scripted answers and recorded requests.
#pragma once

#include <zlib.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace lsr::test {

struct StandInAnswer {
    int status = 200;
    std::map<std::string, std::string> headers;
    std::string body = R"({"success":true})";
    std::chrono::milliseconds delay{0};
    bool drop = false;         // close without answering
    bool close_after = false;  // answer, then close the connection (without Connection: close)
};

struct StandInRequest {
    std::string method;
    std::string target;
    std::map<std::string, std::string> headers;  // lower-case names
    std::string body;                            // gunzipped when Content-Encoding: gzip
    std::size_t wire_bytes = 0;
    int connection = 0;  // which accepted connection carried it (1-based)
    int status = 0;      // answered status, 0 when dropped
};

inline std::string gunzip(const std::string& in) {
    z_stream zs{};
    if (inflateInit2(&zs, 15 + 16) != Z_OK) return {};
    std::string out;
    char buf[65536];
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    zs.avail_in = static_cast<uInt>(in.size());
    int rc = Z_OK;
    while (rc == Z_OK) {
        zs.next_out = reinterpret_cast<Bytef*>(buf);
        zs.avail_out = sizeof(buf);
        rc = inflate(&zs, Z_NO_FLUSH);
        out.append(buf, sizeof(buf) - zs.avail_out);
    }
    inflateEnd(&zs);
    return rc == Z_STREAM_END ? out : std::string{};
}

class SegmentStandIn {
  public:
    // `decide` (optional) picks the answer from the request when the script is empty.
    using Decide = std::function<StandInAnswer(const StandInRequest&)>;

    SegmentStandIn() : acceptor_(io_, {boost::asio::ip::make_address("127.0.0.1"), 0}) {
        do_accept();
        thread_ = std::thread([this] { io_.run(); });
    }
    ~SegmentStandIn() {
        io_.stop();
        thread_.join();
    }

    unsigned short port() const { return acceptor_.local_endpoint().port(); }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port()); }

    void push(StandInAnswer a, int times = 1) {
        std::lock_guard lock(mutex_);
        for (int i = 0; i < times; ++i) script_.push_back(a);
    }
    void set_decide(Decide d) {
        std::lock_guard lock(mutex_);
        decide_ = std::move(d);
    }
    std::vector<StandInRequest> requests() {
        std::lock_guard lock(mutex_);
        return requests_;
    }
    int connections() const { return connections_.load(); }
    int max_concurrent() const { return max_concurrent_.load(); }
    bool wait_requests(std::size_t n, std::chrono::milliseconds timeout) {
        std::unique_lock lock(mutex_);
        return cv_.wait_for(lock, timeout, [&] { return requests_.size() >= n; });
    }

  private:
    void do_accept() {
        acceptor_.async_accept([this](boost::system::error_code ec, boost::asio::ip::tcp::socket s) {
            if (ec) return;
            const int id = ++connections_;
            auto conn = std::make_shared<Conn>(std::move(s));
            conn->id = id;
            read(conn);
            do_accept();
        });
    }

    struct Conn {
        explicit Conn(boost::asio::ip::tcp::socket s) : socket(std::move(s)), timer(socket.get_executor()) {}
        boost::asio::ip::tcp::socket socket;
        boost::asio::steady_timer timer;
        boost::beast::flat_buffer buffer;
        boost::beast::http::request<boost::beast::http::string_body> req;
        boost::beast::http::response<boost::beast::http::string_body> res;
        int id = 0;
    };

    void read(std::shared_ptr<Conn> c) {
        c->req = {};
        boost::beast::http::async_read(c->socket, c->buffer, c->req,
                                       [this, c](boost::system::error_code ec, std::size_t) {
                                           if (ec) return;
                                           on_request(c);
                                       });
    }

    void on_request(std::shared_ptr<Conn> c) {
        StandInRequest r;
        r.method = std::string(c->req.method_string());
        r.target = std::string(c->req.target());
        for (const auto& f : c->req) {
            std::string name(f.name_string());
            for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
            r.headers[name] = std::string(f.value());
        }
        r.wire_bytes = c->req.body().size();
        const auto enc = r.headers.find("content-encoding");
        r.body = enc != r.headers.end() && enc->second == "gzip" ? gunzip(c->req.body()) : c->req.body();
        r.connection = c->id;
        StandInAnswer a;
        {
            std::lock_guard lock(mutex_);
            if (!script_.empty()) {
                a = script_.front();
                script_.pop_front();
            } else if (decide_) {
                a = decide_(r);
            }
        }
        const int now = ++concurrent_;
        int seen = max_concurrent_.load();
        while (now > seen && !max_concurrent_.compare_exchange_weak(seen, now)) {
        }
        c->timer.expires_after(a.delay);
        c->timer.async_wait(
            [this, c, a, r](boost::system::error_code) mutable { answer(c, a, std::move(r)); });
    }

    void answer(std::shared_ptr<Conn> c, const StandInAnswer& a, StandInRequest r) {
        --concurrent_;
        r.status = a.drop ? 0 : a.status;
        {
            std::lock_guard lock(mutex_);
            requests_.push_back(r);
        }
        cv_.notify_all();
        if (a.drop) {
            boost::system::error_code ignored;
            c->socket.shutdown(boost::asio::ip::tcp::socket::shutdown_both, ignored);
            c->socket.close(ignored);
            return;
        }
        c->res = {static_cast<boost::beast::http::status>(a.status), 11};
        for (const auto& [k, v] : a.headers) c->res.set(k, v);
        c->res.set(boost::beast::http::field::content_type, "application/json");
        c->res.body() = a.body;
        c->res.keep_alive(true);
        c->res.prepare_payload();
        const bool close_after = a.close_after;
        boost::beast::http::async_write(
            c->socket, c->res, [this, c, close_after](boost::system::error_code ec, std::size_t) {
                if (ec) return;
                if (close_after) {
                    boost::system::error_code ignored;
                    c->socket.shutdown(boost::asio::ip::tcp::socket::shutdown_both, ignored);
                    c->socket.close(ignored);
                    return;
                }
                read(c);
            });
    }

    boost::asio::io_context io_;
    boost::asio::ip::tcp::acceptor acceptor_;
    std::thread thread_;
    std::mutex mutex_;
    std::condition_variable cv_;
    std::deque<StandInAnswer> script_;
    Decide decide_;
    std::vector<StandInRequest> requests_;
    std::atomic<int> connections_{0};
    std::atomic<int> concurrent_{0};
    std::atomic<int> max_concurrent_{0};
};

}  // namespace lsr::test
