#include "server/service/relay_app.hpp"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <csignal>
#include <filesystem>
#include <iostream>
#include <optional>
#include <thread>

#include "core/clock.hpp"
#include "core/hub/hub_base_url.hpp"
#include "server/delivery/delivery_dispatcher.hpp"
#include "server/http/http_server.hpp"
#include "server/http/server_metrics.hpp"
#include "server/net/logger.hpp"
#include "server/net/termination_signals.hpp"
#include "server/net/tls_context_builder.hpp"
#include "server/service/action_routes.hpp"
#include "server/service/execute_handler.hpp"
#include "server/service/operator_routes.hpp"
#include "server/service/service_context.hpp"
#include "server/service/sync_housekeeper.hpp"
#include "server/service/webhook_routes.hpp"
#include "server/storage/spool.hpp"

namespace lsr::server {

namespace net = boost::asio;

namespace {

std::string temp_dir_for(const config::Config& cfg) {
    if (!cfg.server.temp_dir.empty()) return cfg.server.temp_dir;
    const auto parent = std::filesystem::path(cfg.spool.path).parent_path();
    return ((parent.empty() ? std::filesystem::path(".") : parent) / "tmp").string();
}

// Bodies of requests that were in flight when the process died are useless now.
void clean_temp_dir(const std::string& dir) {
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
        if (entry.path().filename().string().rfind("body-", 0) == 0)
            std::filesystem::remove(entry.path(), ec);
    }
}

// Polls until every session is gone or the grace period ran out.
void wait_for_sessions(net::steady_timer& timer, HttpServer& server, const core::Clock& clock,
                       core::Clock::Steady deadline, std::function<void(bool)> done) {
    if (server.open_sessions() == 0 || clock.steady() >= deadline) return done(server.open_sessions() == 0);
    timer.expires_after(std::chrono::milliseconds(20));
    timer.async_wait(
        [&timer, &server, &clock, deadline, done = std::move(done)](boost::system::error_code) mutable {
            wait_for_sessions(timer, server, clock, deadline, std::move(done));
        });
}

// The HTTP server's limits for a listener, from server.limits.
ListenerLimits http_limits_from(const config::ListenerLimits& l) {
    ListenerLimits out;
    out.max_header_bytes = l.max_header_bytes;
    out.max_body_bytes = l.max_body_bytes;
    out.max_small_body_bytes = l.max_small_body_bytes;
    out.read_header_timeout_ms = l.read_header_timeout_ms;
    out.read_body_timeout_ms = l.read_body_timeout_ms;
    out.idle_timeout_ms = l.idle_timeout_ms;
    out.max_connections = l.max_connections;
    out.min_receive_bytes_per_s = l.min_receive_bytes_per_s;
    out.receive_window_ms = l.receive_window_ms;
    out.max_connections_per_client = l.max_connections_per_client;
    out.shed_above_percent = l.shed_above_percent;
    return out;
}

}  // namespace

int RelayApp::run() {
    // Before any thread starts: SIGTERM and SIGINT then reach only the signalfd read below.
    TerminationSignals::block();
    Logger log(Logger::parse_level(cfg_.log.level), clock_);
    const auto started = clock_.steady();

    std::error_code ec;
    std::string message;
    SpoolOpenOptions spool_options;
    spool_options.clock = &clock_;
    auto spool = Spool::open(cfg_.spool, spool_options, ec, message);
    if (!spool) {
        log.error("cannot open the spool", {{"path", cfg_.spool.path}, {"error", message}});
        std::cerr << "looker-segment-relay: cannot open the spool " << cfg_.spool.path << ": " << message
                  << "\n";
        return 1;
    }
    const std::string temp_dir = temp_dir_for(cfg_);
    std::filesystem::create_directories(temp_dir, ec);
    ::chmod(temp_dir.c_str(), 0700);
    clean_temp_dir(temp_dir);

    // Everything a session touches is declared before the io_context, so it outlives the
    // handlers (and the sessions they hold) that the io_context destroys last.
    auto registry = std::make_shared<prometheus::Registry>();
    ServerMetrics server_metrics(*registry);
    std::atomic<bool> draining{false};
    SessionRegistry sessions;
    SessionRegistry admin_sessions;
    const std::atomic<bool> admin_never_draining{false};  // probes see the drain through /readyz
    Router router;
    Router admin_router;

    net::io_context io(static_cast<int>(cfg_.server.io_threads));
    net::thread_pool workers(cfg_.server.worker_threads);
    std::unique_ptr<DeliveryDispatcher> dispatcher_ptr;
    try {
        dispatcher_ptr = std::make_unique<DeliveryDispatcher>(io, cfg_.segment, cfg_.spool, *spool, log,
                                                              *registry, clock_);
    } catch (const std::exception& e) {  // e.g. an unreadable segment.ca_file
        log.error("cannot set up delivery to Segment", {{"error", e.what()}});
        std::cerr << "looker-segment-relay: cannot set up delivery to Segment: " << e.what() << "\n";
        return 1;
    }
    DeliveryDispatcher& dispatcher = *dispatcher_ptr;
    // The operators' reads of the spool's database (/status, /runs): after the dispatcher, so
    // it is joined before the dispatcher goes.
    net::thread_pool operator_reads(1);
    ServiceContext ctx{cfg_, log, *registry, io, workers, *spool, dispatcher, draining, started, clock_};
    register_operator_routes({&router, &admin_router}, ctx, clock_, operator_reads);
    auto execute = ExecuteHandler::create(ctx);  // installs the dispatcher's settled listener

    SessionDeps deps{router, server_metrics, log, draining, sessions, temp_dir};
    deps.limits = http_limits_from(cfg_.server.limits);
    deps.clock = &clock_;
    std::unique_ptr<net::ssl::context> tls;
    if (cfg_.server.tls.enabled) {
        boost::system::error_code tec;
        tls = TlsContextBuilder::server_context(cfg_.server.tls.cert_file, cfg_.server.tls.key_file, tec);
        if (!tls) {
            log.error("cannot load the listener's TLS certificate or key",
                      {{"cert_file", cfg_.server.tls.cert_file}, {"error", tec.message()}});
            std::cerr << "looker-segment-relay: cannot load server.tls cert_file/key_file: " << tec.message()
                      << "\n";
            return 1;
        }
        deps.tls = tls.get();
    }
    HttpServer server(io, deps);
    if (auto lec = server.listen(cfg_.server.listen_host, cfg_.server.listen_port)) {
        log.error("cannot listen", {{"host", cfg_.server.listen_host},
                                    {"port", static_cast<std::int64_t>(cfg_.server.listen_port)},
                                    {"error", lec.message()}});
        std::cerr << "looker-segment-relay: cannot listen on " << cfg_.server.listen_host << ":"
                  << cfg_.server.listen_port << ": " << lec.message() << "\n";
        return 1;
    }
    // The URL Looker is given: hub.base_url, else the listener's own (bound port, scheme).
    ListeningInfo listening;
    listening.base_url = cfg_.hub.base_url;
    if (listening.base_url.empty()) {
        const auto followed =
            core::HubBaseUrl::for_listener(cfg_.server.tls.enabled, cfg_.server.listen_host, server.port());
        listening.base_url = followed.url;
        listening.base_url_followed = true;
        listening.wildcard_host = followed.wildcard;
        if (followed.wildcard)
            log.warn(
                "hub.base_url is not set and the listener takes every address: the actions advertise "
                "127.0.0.1; set hub.base_url to the public https:// name Looker uses",
                {{"base_url", listening.base_url}});
    }
    register_action_routes(router, ctx, execute, listening.base_url);
    register_webhook_routes(router, ctx, execute);
    // The operator endpoints on their own listener and connection budget, in plain HTTP: probes
    // and scrapes never compete with Looker's traffic for connections.
    std::optional<HttpServer> admin;
    if (!cfg_.server.admin_host.empty()) {
        SessionDeps admin_deps{admin_router,         server_metrics, log,
                               admin_never_draining, admin_sessions, temp_dir};
        admin_deps.limits = http_limits_from(cfg_.server.limits);
        admin_deps.limits.max_connections = cfg_.server.admin_max_connections;
        admin_deps.limits.max_connections_per_client = cfg_.server.admin_max_connections;
        admin_deps.listener = "admin";
        admin_deps.clock = &clock_;
        admin.emplace(io, admin_deps);
        if (auto aec = admin->listen(cfg_.server.admin_host, cfg_.server.admin_port)) {
            log.error("cannot listen", {{"host", cfg_.server.admin_host},
                                        {"port", static_cast<std::int64_t>(cfg_.server.admin_port)},
                                        {"listener", "admin"},
                                        {"error", aec.message()}});
            std::cerr << "looker-segment-relay: cannot listen on server.admin_listen "
                      << cfg_.server.admin_host << ":" << cfg_.server.admin_port << ": " << aec.message()
                      << "\n";
            return 1;
        }
        admin->start();
    }
    server.start();
    dispatcher.start();
    // Forgets stale baselines and prunes old runs: now, then hourly.
    SyncHousekeeper housekeeper(*spool, cfg_.sync, cfg_.runs, log, clock_);
    housekeeper.start(std::chrono::hours(1));

    std::error_code sig_ec;
    TerminationSignals signals(io, sig_ec);
    if (sig_ec) {
        log.error("cannot watch for SIGTERM and SIGINT", {{"error", sig_ec.message()}});
        std::cerr << "looker-segment-relay: cannot watch for SIGTERM and SIGINT: " << sig_ec.message()
                  << "\n";
        return 1;
    }
    net::steady_timer drain_timer(io);
    std::function<void(const boost::system::error_code&, int)> on_signal;
    on_signal = [&](const boost::system::error_code& sec, int signo) {
        if (sec) return;
        if (draining.exchange(true)) {
            log.warn("second signal: exiting now", {{"signal", static_cast<std::int64_t>(signo)}});
            std::_Exit(1);
        }
        log.info("draining", {{"signal", static_cast<std::int64_t>(signo)},
                              {"grace_ms", static_cast<std::int64_t>(cfg_.server.drain_grace_ms)}});
        signals.async_wait(on_signal);
        server.stop_accepting();
        server.close_idle_sessions();
        const auto deadline = clock_.steady() + std::chrono::milliseconds(cfg_.server.drain_grace_ms);
        auto stop = [&] {
            dispatcher.stop([&] {
                log.info("stopped", {});
                io.stop();
            });
        };
        wait_for_sessions(drain_timer, server, clock_, deadline, [&, stop](bool clean) {
            if (clean) return stop();
            // Grace over: requests still at work answer now with what they have (an execute
            // writes its honest partial answer), within a short window, before the exit.
            log.warn("grace period over: interrupting the requests still open",
                     {{"sessions", static_cast<std::int64_t>(server.open_sessions())}});
            sessions.for_each([](const std::shared_ptr<HttpSession>& s) { s->interrupt(); });
            const auto answer_deadline = clock_.steady() + std::chrono::seconds(5);
            wait_for_sessions(drain_timer, server, clock_, answer_deadline, [&, stop](bool answered) {
                if (!answered) log.warn("requests still open after the grace period", {});
                stop();
            });
        });
    };
    signals.async_wait(on_signal);

    log.info("listening", {{"host", cfg_.server.listen_host},
                           {"port", static_cast<std::int64_t>(server.port())},
                           {"admin_host", cfg_.server.admin_host},
                           {"admin_port", static_cast<std::int64_t>(admin ? admin->port() : 0)},
                           {"version", LSR_VERSION},
                           {"segment_region", cfg_.segment.region},
                           {"spool", cfg_.spool.path},
                           {"tls", cfg_.server.tls.enabled},
                           {"base_url", listening.base_url},
                           {"config", cfg_.source}});
    if (on_listening_) {
        listening.listen_host = cfg_.server.listen_host;
        listening.port = server.port();
        listening.admin_host = admin ? cfg_.server.admin_host : std::string();
        listening.admin_port = admin ? admin->port() : 0;
        listening.tls = cfg_.server.tls.enabled;
        on_listening_(listening);
    }

    std::vector<std::thread> threads;
    for (std::uint32_t i = 1; i < cfg_.server.io_threads; ++i) threads.emplace_back([&io] { io.run(); });
    io.run();
    for (auto& t : threads) t.join();
    workers.stop();
    workers.join();
    operator_reads.stop();
    operator_reads.join();
    return 0;
}

}  // namespace lsr::server
