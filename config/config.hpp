// The service's configuration as validated data. Every default lives here, in the
// member initialisers; config_loader.cpp fills these from YAML and the environment,
// config_validator.cpp checks them. Units are in the names.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/delivery/retry_settings.hpp"
#include "core/delivery/write_key_limits.hpp"
#include "core/mapping/mapping_settings.hpp"

namespace lsr::config {

struct ListenerLimits {
    std::uint32_t max_header_bytes = 16 * 1024;
    std::uint64_t max_body_bytes = 1024ull * 1024 * 1024;  // execute and webhook bodies
    std::uint64_t max_small_body_bytes = 1024 * 1024;      // every other route
    std::uint32_t read_header_timeout_ms = 10'000;         // time to receive the headers
    std::uint32_t read_body_timeout_ms = 600'000;          // time to receive the whole body
    std::uint32_t idle_timeout_ms = 60'000;                // keep-alive idle
    std::uint32_t max_connections = 1024;
    // Slow clients: after the first window, every window of receive_window_ms must bring at
    // least min_receive_bytes_per_s * window of headers or body, else 408 and close.
    std::uint32_t min_receive_bytes_per_s = 1024;
    std::uint32_t receive_window_ms = 10'000;
    std::uint32_t max_connections_per_client = 256;  // per remote address
    // Near the cap (this share of max_connections open), idle keep-alive connections and
    // connections still sending unauthenticated headers or bodies are closed first.
    std::uint32_t shed_above_percent = 90;
};

struct TlsListener {
    bool enabled = false;
    std::string cert_file;
    std::string key_file;
};

struct ServerConfig {
    std::string listen_host = "127.0.0.1";
    std::uint16_t listen_port = 8080;
    // Operator endpoints (/healthz, /readyz, /metrics, /status) also on their own listener,
    // with a connection budget of its own; empty host: none.
    std::string admin_host = "127.0.0.1";
    std::uint16_t admin_port = 8081;
    std::uint32_t admin_max_connections = 64;
    std::uint32_t io_threads = 1;           // one: no wake-ups between io threads (see relay.example.yaml)
    std::uint32_t worker_threads = 2;       // parsing and mapping of execute payloads
    std::uint32_t drain_grace_ms = 20'000;  // SIGTERM: time for in-flight requests
    std::uint32_t execute_keepalive_ms = 30'000;  // newline cadence on long executes
    std::string temp_dir;                         // request bodies; default <spool dir>/tmp
    ListenerLimits limits;
    TlsListener tls;
};

struct DownloadConfig {
    std::vector<std::string> allowed_hosts;  // hosts a download_url may point to
    bool allow_loopback_http = false;        // tests only: http:// to 127.0.0.1
    std::uint32_t connect_timeout_ms = 10'000;
    std::uint32_t timeout_ms = 780'000;  // whole download, as the public hub
    std::uint64_t max_bytes = 8ull * 1024 * 1024 * 1024;
    std::string ca_file;  // empty: system store
};

struct HubConfig {
    std::string label = "Looker Segment Relay";
    // How Looker reaches the relay, prefixed to advertised URLs. Empty: follows the listener
    // (https with server.tls, the listen host, the bound port).
    std::string base_url;
    // RELAY_HUB_SECRET; signs and checks tokens. Empty: <spool dir>/hub-secret, made by serve.
    std::string secret;
    std::vector<std::string> tokens;  // extra accepted tokens (RELAY_HUB_TOKENS, comma list)
    std::vector<std::string> actions = {"segment_event", "segment_track", "segment_group"};
    DownloadConfig download;
};

struct WebhookRoute {
    std::string path;               // e.g. /webhooks/marketing
    std::string token;              // X-Looker-Webhook-Token; RELAY_WEBHOOK_TOKEN_<NAME>
    std::string name;               // used for the env override and in logs/metrics
    std::string write_key;          // RELAY_WEBHOOK_WRITE_KEY_<NAME>
    std::string call = "identify";  // identify | track | group
    std::string event;              // track only
    core::IdentityColumns identity;
    // Cohort sync of this route (the Action API's form params, for a plain webhook): empty
    // sync / audience_events take the `sync:` defaults; empty audience_key: the schedule's
    // title, snake_cased.
    std::string sync;              // all | changes | audience
    std::string audience_key;      // snake_case trait name
    std::string audience_events;   // identify | track | both
    bool resync = false;           // every run is a first run (no exits)
    bool allow_mass_exit = false;  // the exit guard never refuses this route's runs
};

// Defaults of cohort sync, for executes whose form (or route) does not say.
struct SyncConfig {
    std::string mode = "all";                  // all | changes | audience
    std::string audience_events = "identify";  // identify | track | both
    // A run that would remove more than this fraction of a non-empty baseline is refused.
    double max_exit_fraction = 0.5;
    // Members one baseline may have (0: no limit). A sync run holds 16 bytes of hashes per
    // member in memory while it compares (and about as much again for new members), so this
    // bounds a run's memory: 5,000,000 is about 160 MB at most.
    std::uint64_t max_members = 5'000'000;
    // Baselines of schedules without a run for this long are dropped (0: never).
    std::uint32_t forget_after_days = 90;
};

// The run history: every execute, its counts and its answer.
struct RunsConfig {
    std::uint32_t keep_days = 30;  // runs older than this are dropped (0: never)
};

using WriteKeyLimits = core::WriteKeyLimits;

struct SegmentConfig {
    std::string region = "us";      // us | eu | custom
    std::string endpoint;           // custom: scheme://host[:port]
    std::string default_write_key;  // RELAY_SEGMENT_WRITE_KEY; used when a request names none
    std::uint32_t max_batch_events = 2500;
    std::uint32_t max_batch_bytes = 475'000;
    std::uint32_t max_event_bytes = 32'000;
    std::uint32_t gzip_min_bytes = 64 * 1024;
    // libdeflate level for batch bodies, deflated once when spooled: 0 never, 1 (fast) .. 12.
    std::uint32_t gzip_level = 1;
    std::uint32_t connect_timeout_ms = 10'000;
    std::uint32_t request_timeout_ms = 30'000;
    std::uint32_t max_connections = 16;  // to Segment, over all write keys
    std::string ca_file;                 // empty: system store
    core::RetrySettings retry;
    WriteKeyLimits per_write_key;
};

enum class AckMode { spooled, delivered };

struct DeliveryConfig {
    AckMode ack = AckMode::spooled;
    std::uint32_t ack_delivered_timeout_ms = 600'000;
};

struct SpoolConfig {
    std::string path = "./var/spool.db";
    std::uint64_t max_bytes = 2ull * 1024 * 1024 * 1024;  // the spool's files on disk (db + WAL)
    bool synchronous_full = true;                         // fsync every commit
    std::uint32_t poll_interval_ms = 1'000;               // wake-up for due retries
    std::string temp_dir;  // SQLite's temp files; "" = in memory (no temp files on disk)
    std::uint64_t min_free_bytes = 256ull * 1024 * 1024;  // new work refused below this free space
};

struct LogConfig {
    std::string level = "info";  // debug | info | warn | error
};

struct Config {
    ServerConfig server;
    HubConfig hub;
    core::MappingSettings mapping;
    std::vector<WebhookRoute> webhooks;
    SegmentConfig segment;
    DeliveryConfig delivery;
    SpoolConfig spool;
    SyncConfig sync;
    RunsConfig runs;
    LogConfig log;
    std::string source;  // file it came from, or "<defaults>"
};

}  // namespace lsr::config
