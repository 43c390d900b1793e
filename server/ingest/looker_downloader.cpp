#include "server/ingest/looker_downloader.hpp"

#include <algorithm>
#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/version.hpp>
#include <chrono>

#include "server/net/client_stream.hpp"
#include "server/net/tls_context_builder.hpp"

namespace lsr::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;

struct LookerDownloader::Impl : std::enable_shared_from_this<LookerDownloader::Impl> {
    using Clock = std::chrono::steady_clock;

    Impl(asio::io_context& io, const config::DownloadConfig& c, std::shared_ptr<ssl::context> t)
        : cfg(c), tls_ctx(std::move(t)), strand(asio::make_strand(io)), stream(strand, clock) {}

    // Deadlines are armed on Asio's timers, which follow the machine's steady clock: the
    // download reads that clock, never a test's manual one.
    const core::Clock& clock = core::Clock::system();
    const config::DownloadConfig& cfg;
    std::shared_ptr<ssl::context> tls_ctx;
    // Every member is touched only on this strand: the completion handlers of the resolver,
    // the timer and the streams (Beast's own timers too) run here, and the entry points that
    // come from other threads (start, cancel, a consumer's resume) are posted here. So no
    // lock: at most one handler of this download runs at a time.
    asio::strand<asio::io_context::executor_type> strand;
    ClientStream stream;
    beast::flat_buffer buffer;
    std::optional<beast::http::response_parser<beast::http::buffer_body>> parser;
    beast::http::request<beast::http::empty_body> request;
    std::array<char, 64 * 1024> chunk{};
    Url url;
    ChunkHandler on_chunk;
    DoneHandler on_done;
    DownloadOutcome outcome;
    Clock::time_point deadline;
    bool finished = false;
    bool cancelled = false;
    int redirects = 0;

    beast::tcp_stream& lowest() { return stream.lowest(); }

    template <class F>
    void with_stream(F&& f) {
        stream.visit(std::forward<F>(f));
    }

    void arm(std::chrono::milliseconds phase_limit) {
        auto phase_deadline = clock.steady() + phase_limit;
        lowest().expires_at(std::min(phase_deadline, deadline));
    }

    void finish(bool ok, std::string error) {
        if (finished) return;
        finished = true;
        outcome.ok = ok;
        if (!ok) outcome.error = std::move(error);
        beast::error_code ignored;
        stream.cancel();
        if (stream.has_stream()) lowest().socket().close(ignored);
        auto done = std::move(on_done);
        on_chunk = nullptr;
        if (done) done(std::move(outcome));
    }

    void fail(std::string_view what, const beast::error_code& ec) {
        if (cancelled) return finish(false, "The download from Looker was cancelled.");
        if (ec == beast::http::error::body_limit) {
            return finish(false, "The download from Looker exceeded hub.download.max_bytes (" +
                                     std::to_string(cfg.max_bytes) + " bytes).");
        }
        if (ec == beast::error::timeout) {
            return finish(false,
                          "Timed out " + std::string(what) + " (download_url, host " + url.host + ").");
        }
        finish(false,
               "Error " + std::string(what) + " (download_url, host " + url.host + "): " + ec.message());
    }

    void run() {
        if (redirects == 0) deadline = clock.steady() + std::chrono::milliseconds(cfg.timeout_ms);
        if (url.tls && !tls_ctx) return finish(false, "No TLS context for downloads from " + url.host + ".");
        // Resolve, connect and the TLS handshake each get connect_timeout_ms, all within the
        // download's deadline.
        ClientStream::Limits limits;
        limits.phase = std::chrono::milliseconds(cfg.connect_timeout_ms);
        limits.handshake_shares_connect_phase = false;
        limits.deadline = deadline;
        limits.keep_alive = true;
        auto self = shared_from_this();
        stream.async_open({url.host, std::to_string(url.port), url.tls ? tls_ctx.get() : nullptr}, limits,
                          [self](const beast::error_code& ec, ClientStream::Step step) {
                              if (self->finished) return;
                              if (ec) return self->open_failed(ec, step);
                              self->send();
                          });
    }

    void open_failed(const beast::error_code& ec, ClientStream::Step step) {
        switch (step) {
            case ClientStream::Step::server_name:
                return finish(false, "Could not set the TLS server name for " + url.host + ".");
            case ClientStream::Step::resolve:
                return fail("resolving the Looker host", ec);
            case ClientStream::Step::connect:
                return fail("connecting to Looker", ec);
            case ClientStream::Step::handshake:
                return fail("in the TLS handshake with Looker", ec);
        }
    }

    void send() {
        request.method(beast::http::verb::get);
        request.target(url.target);
        request.version(11);
        request.set(beast::http::field::host, url.host_header());
        request.set(beast::http::field::user_agent, "looker-segment-relay/" LSR_VERSION);
        request.set(beast::http::field::accept, "*/*");
        request.set(beast::http::field::connection, "close");
        arm(std::chrono::milliseconds(cfg.timeout_ms));
        auto self = shared_from_this();
        with_stream([&](auto& s) {
            beast::http::async_write(s, request, [self](const beast::error_code& ec, std::size_t) {
                if (self->finished) return;
                if (ec) return self->fail("sending the request to Looker", ec);
                self->read_header();
            });
        });
    }

    void read_header() {
        parser.emplace();
        parser->body_limit(cfg.max_bytes);
        parser->header_limit(64 * 1024);
        arm(std::chrono::milliseconds(cfg.timeout_ms));
        auto self = shared_from_this();
        with_stream([&](auto& s) {
            beast::http::async_read_header(
                s, buffer, *parser, [self](const beast::error_code& ec, std::size_t) {
                    if (self->finished) return;
                    if (ec) return self->fail("waiting for Looker's answer", ec);
                    self->outcome.status = static_cast<int>(self->parser->get().result_int());
                    if (self->is_redirect(self->outcome.status)) return self->follow_redirect();
                    if (self->outcome.status != 200) {
                        return self->finish(
                            false,
                            "There was an error with Action Hub calling back to Looker, status code: " +
                                std::to_string(self->outcome.status));
                    }
                    self->read_body();
                });
        });
    }

    static bool is_redirect(int status) {
        return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
    }

    // Redirects are followed (as the public hub's HTTP client does for a GET), at most
    // kMaxRedirects, each target checked against the allowlist and scheme rules again, all
    // within the one overall deadline.
    void follow_redirect() {
        static constexpr int kMaxRedirects = 5;
        std::string location(parser->get()[beast::http::field::location]);
        if (location.empty() || redirects >= kMaxRedirects) {
            return finish(false, "There was an error with Action Hub calling back to Looker, status code: " +
                                     std::to_string(outcome.status));
        }
        if (location.front() == '/') {
            std::string authority = url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host;
            location = std::string(url.tls ? "https://" : "http://") + authority + ":" +
                       std::to_string(url.port) + location;
        }
        std::string error;
        auto next = core::DownloadUrl::check(location, cfg.allowed_hosts, cfg.allow_loopback_http, error);
        if (!next) return finish(false, "Looker redirected the download: " + error);
        ++redirects;
        stream.reset();
        buffer.consume(buffer.size());
        parser.reset();
        request = {};
        url = std::move(*next);
        outcome.status = 0;
        run();
    }

    // Fills the chunk with what has arrived and hands it over: it keeps reading only while
    // more bytes are already waiting, so a slow result is handed over (and mapped) as it
    // comes, and a cancel loses nothing that was already received.
    void read_body() {
        if (cancelled) return finish(false, "The download from Looker was cancelled.");
        if (parser->is_done()) return finish(true, {});
        filled = 0;
        read_more();
    }

    void read_more() {
        auto& body = parser->get().body();
        body.data = chunk.data() + filled;
        body.size = chunk.size() - filled;
        arm(std::chrono::milliseconds(cfg.timeout_ms));
        auto self = shared_from_this();
        with_stream([&](auto& s) {
            beast::http::async_read_some(s, buffer, *parser, [self](beast::error_code ec, std::size_t) {
                if (self->finished) return;
                if (ec == beast::http::error::need_buffer) ec = {};
                if (ec) return self->fail("reading the result from Looker", ec);
                self->filled = self->chunk.size() - self->parser->get().body().size;
                if (!self->parser->is_done() && self->filled < self->chunk.size() && !self->cancelled) {
                    beast::error_code aec;
                    const auto waiting = self->lowest().socket().available(aec);
                    if (self->filled == 0 || (!aec && waiting > 0)) return self->read_more();
                }
                if (self->filled == 0) return self->read_body();
                self->outcome.bytes += self->filled;
                self->deliver(self->filled);
            });
        });
    }
    std::size_t filled = 0;  // bytes of `chunk` read so far

    void deliver(std::size_t n) {
        auto self = shared_from_this();
        auto once = std::make_shared<std::once_flag>();
        Resume resume = [self, once](bool keep_going) {
            std::call_once(*once, [&] {
                asio::post(self->strand, [self, keep_going] {
                    if (self->finished) return;
                    if (!keep_going) return self->finish(false, "The result could not be processed.");
                    self->read_body();
                });
            });
        };
        on_chunk(std::string_view(chunk.data(), n), std::move(resume));
    }
};

std::shared_ptr<ssl::context> LookerDownloader::make_tls_context(const config::DownloadConfig& cfg,
                                                                 std::string& error) {
    beast::error_code ec;
    auto ctx = TlsContextBuilder::client_context(cfg.ca_file, ec);
    if (!ctx) {
        error = "Could not load the CA certificates for downloads (" +
                (cfg.ca_file.empty() ? std::string("system store") : cfg.ca_file) + "): " + ec.message();
        return nullptr;
    }
    return ctx;
}

std::shared_ptr<LookerDownloader> LookerDownloader::create(asio::io_context& io,
                                                           const config::DownloadConfig& cfg,
                                                           std::shared_ptr<ssl::context> tls) {
    return std::make_shared<LookerDownloader>(io, cfg, std::move(tls));
}

LookerDownloader::LookerDownloader(asio::io_context& io, const config::DownloadConfig& cfg,
                                   std::shared_ptr<ssl::context> tls)
    : impl_(std::make_shared<Impl>(io, cfg, std::move(tls))) {}

LookerDownloader::~LookerDownloader() {
    cancel();
}

void LookerDownloader::start(std::string url, ChunkHandler on_chunk, DoneHandler on_done) {
    auto impl = impl_;
    asio::post(impl->strand, [impl, url = std::move(url), on_chunk = std::move(on_chunk),
                              on_done = std::move(on_done)]() mutable {
        impl->on_chunk = std::move(on_chunk);
        impl->on_done = std::move(on_done);
        std::string error;
        auto parsed =
            core::DownloadUrl::check(url, impl->cfg.allowed_hosts, impl->cfg.allow_loopback_http, error);
        if (!parsed) return impl->finish(false, error);
        impl->url = std::move(*parsed);
        if (impl->cancelled) return impl->finish(false, "The download from Looker was cancelled.");
        impl->run();
    });
}

void LookerDownloader::cancel() {
    auto impl = impl_;
    asio::post(impl->strand, [impl] {
        impl->cancelled = true;
        if (impl->finished) return;
        impl->stream.cancel();
    });
}

}  // namespace lsr::server
