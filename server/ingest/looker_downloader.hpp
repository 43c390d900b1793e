// Fetches a one-time `scheduled_plan.download_url` (DESIGN §6, reference §1.7): one async GET,
// only to hosts on hub.download.allowed_hosts (core::DownloadUrl, which checks every
// redirect target too), over HTTPS with certificate and host-name
// verification and SNI, or plain HTTP to a loopback host when allow_loopback_http is set.
// The body is handed over chunk by chunk (up to 1 MiB); while the consumer holds a chunk at
// most one more read (256 KiB) goes on, and nothing more is parsed until it calls the resume
// function it got with the chunk (back-pressure). A non-200 answer fails with the
// hub's text without reading its body. Connect, header and body phases are all bounded.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "core/clock.hpp"
#include "core/hub/download_url.hpp"

namespace lsr::server {

struct DownloadOutcome {
    bool ok = false;
    int status = 0;           // HTTP status, 0 when none arrived
    std::uint64_t bytes = 0;  // body bytes handed to the consumer
    std::string error;        // why it failed, fit for the execute answer (never the URL's query)
};

class LookerDownloader : public std::enable_shared_from_this<LookerDownloader> {
  public:
    using Url = core::DownloadUrl;
    using Resume = std::function<void(bool keep_going)>;
    // `chunk` stays valid until `resume` is called; call it exactly once, from any thread.
    using ChunkHandler = std::function<void(std::string_view chunk, Resume resume)>;
    using DoneHandler = std::function<void(DownloadOutcome)>;

    // The TLS client context: system store or cfg.ca_file, peer verification on.
    static std::shared_ptr<boost::asio::ssl::context> make_tls_context(const config::DownloadConfig& cfg,
                                                                       std::string& error);
    static std::shared_ptr<LookerDownloader> create(boost::asio::io_context& io,
                                                    const config::DownloadConfig& cfg,
                                                    std::shared_ptr<boost::asio::ssl::context> tls);
    ~LookerDownloader();

    // Starts the GET; `on_done` is called exactly once, after the last chunk was resumed.
    void start(std::string url, ChunkHandler on_chunk, DoneHandler on_done);
    void cancel();  // from any thread: ends with an error as soon as possible

    LookerDownloader(boost::asio::io_context& io, const config::DownloadConfig& cfg,
                     std::shared_ptr<boost::asio::ssl::context> tls);

  private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

}  // namespace lsr::server
