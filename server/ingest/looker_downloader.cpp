#include "server/ingest/looker_downloader.hpp"

#include <algorithm>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
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
        flush_timer.cancel();
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

    // The body: the parser is driven here, over reads of kReadBytes into `buffer`, so the
    // read size is ours (Beast's read_some would size each read by the buffer's spare room)
    // and no ioctl probes the socket. The parsed bytes fill `chunk`, which is handed over when
    // it is full, when the body ends, or kHandOverAfter after its first byte came: a fast
    // result goes in whole chunks, a slow one is mapped as it comes. While the consumer maps
    // a chunk, the next read fills `buffer`. The stream's expiry was set once, for the whole
    // download (its deadline).
    static constexpr std::size_t kChunkBytes = std::size_t{1} << 20;
    static constexpr std::size_t kReadBytes = 256 * 1024;
    static constexpr std::size_t kMaxPending = 64 * 1024;  // an unparsed chunk line or trailer block
    static constexpr std::chrono::milliseconds kHandOverAfter{20};

    // The chunk is free again (the start, or the consumer resumed).
    void read_body() {
        handed_over = false;
        filled = 0;
        if (cut) return fail("reading the result from Looker", cut);
        if (cancelled) return finish(false, "The download from Looker was cancelled.");
        if (parser->is_done() && buffer.size() == 0) return finish(true, {});
        if (!chunk) chunk = std::make_unique_for_overwrite<char[]>(kChunkBytes);
        // `buffer` belongs to an outstanding read until it completes (which pumps).
        if (!reading) pump();
    }

    // Parses what `buffer` holds into the chunk; hands it over or reads on.
    void pump() {
        beast::error_code ec;
        while (buffer.size() > 0 && filled < kChunkBytes && !parser->is_done()) {
            auto& body = parser->get().body();
            body.data = chunk.get() + filled;
            body.size = kChunkBytes - filled;
            const auto used = parser->put(buffer.data(), ec);
            buffer.consume(used);
            filled = kChunkBytes - body.size;
            if (ec == beast::http::error::need_buffer || ec == beast::http::error::need_more) ec = {};
            if (ec) return fail("reading the result from Looker", ec);
            if (used == 0) break;
        }
        if (eof && buffer.size() == 0 && !parser->is_done()) {
            parser->put_eof(ec);  // a body that runs to the end of the connection ends here
            if (ec) cut = ec;
        }
        if (!parser->is_done() && filled < kChunkBytes && buffer.size() >= kMaxPending)
            return fail("reading the result from Looker", beast::http::error::header_limit);
        if (filled == kChunkBytes || parser->is_done() || cut) return hand_over();
        if (filled > 0 && !flush_armed) {
            flush_armed = true;
            flush_timer.expires_after(kHandOverAfter);
            flush_timer.async_wait(
                [self = shared_from_this(), gen = ++flush_generation](const beast::error_code& tec) {
                    if (tec || self->finished || !self->flush_armed || gen != self->flush_generation) return;
                    self->flush_armed = false;
                    self->hand_over();
                });
        }
        if (!reading) read_more();
    }

    void hand_over() {
        if (flush_armed) {
            flush_armed = false;
            flush_timer.cancel();
        }
        if (filled == 0) {
            if (cut) return fail("reading the result from Looker", cut);
            return finish(true, {});  // the body ended on a chunk boundary
        }
        handed_over = true;
        outcome.bytes += filled;
        deliver(filled);
        // The next bytes arrive while the consumer maps these.
        if (!finished && !reading && !cut && !eof && !parser->is_done() && buffer.size() < kReadBytes)
            read_more();
    }

    void read_more() {
        reading = true;
        auto self = shared_from_this();
        with_stream([&](auto& s) {
            s.async_read_some(buffer.prepare(kReadBytes), [self](beast::error_code ec, std::size_t n) {
                self->reading = false;
                if (self->finished) return;
                self->buffer.commit(n);
                if (ec == asio::error::eof)
                    self->eof = true;
                else if (ec)
                    self->cut = ec;             // what was received is handed over first
                if (self->handed_over) return;  // read_body goes on when the consumer resumes
                self->pump();
            });
        });
    }
    std::unique_ptr<char[]> chunk;  // kChunkBytes, for the body
    std::size_t filled = 0;         // bytes of `chunk` parsed so far
    bool handed_over = false;       // the consumer holds the chunk until it resumes
    bool reading = false;           // a read is outstanding
    bool eof = false;               // the connection's end was read
    beast::error_code cut;          // a read failed or was cancelled
    asio::steady_timer flush_timer{strand};
    bool flush_armed = false;
    std::uint64_t flush_generation = 0;

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
        on_chunk(std::string_view(chunk.get(), n), std::move(resume));
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
