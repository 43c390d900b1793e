#include "config/config_validator.hpp"

#include <set>

#include "core/delivery/write_key_rule.hpp"
#include "core/hub/download_url.hpp"
#include "core/hub/hub_base_url.hpp"
#include "core/sync/sync_request.hpp"

namespace lsr::config {

namespace {

class Checker {
  public:
    Checker(const Config& c, const KeyLocations& where, std::vector<ConfigProblem>& out)
        : c_(c), where_(where), out_(out) {}

    void require(bool ok, const std::string& key, std::string message) {
        if (ok) return;
        // The key itself, else the nearest enclosing key that the file had.
        std::string k = key;
        int line = 0;
        while (!k.empty()) {
            if (const auto it = where_.find(k); it != where_.end()) {
                line = it->second;
                break;
            }
            const auto dot = k.rfind('.');
            k = dot == std::string::npos ? std::string() : k.substr(0, dot);
        }
        out_.push_back({c_.source, line, std::move(message)});
    }

  private:
    const Config& c_;
    const KeyLocations& where_;
    std::vector<ConfigProblem>& out_;
};

bool is_sync_mode(const std::string& s) {
    return s == "all" || s == "changes" || s == "audience";
}

bool is_audience_events(const std::string& s) {
    return s == "identify" || s == "track" || s == "both";
}

bool is_http_url(const std::string& s) {
    return s.rfind("http://", 0) == 0 || s.rfind("https://", 0) == 0;
}

}  // namespace

void ConfigValidator::validate(const Config& c, const KeyLocations& where, std::vector<ConfigProblem>& out) {
    Checker k(c, where, out);
    const auto& s = c.server;
    k.require(!s.listen_host.empty(), "server.listen", "server.listen needs a host");
    k.require(s.io_threads >= 1 && s.io_threads <= 64, "server.io_threads",
              "server.io_threads must be 1..64");
    k.require(s.worker_threads >= 1 && s.worker_threads <= 64, "server.worker_threads",
              "server.worker_threads must be 1..64");
    k.require(s.execute_keepalive_ms >= 10, "server.execute_keepalive_ms",
              "server.execute_keepalive_ms must be at least 10");
    k.require(s.limits.max_header_bytes >= 1024, "server.limits.max_header_bytes",
              "server.limits.max_header_bytes must be at least 1024");
    k.require(s.limits.max_connections >= 1, "server.limits.max_connections",
              "server.limits.max_connections must be at least 1");
    k.require(s.limits.read_header_timeout_ms >= 100, "server.limits.read_header_timeout_ms",
              "server.limits.read_header_timeout_ms must be at least 100");
    k.require(s.limits.idle_timeout_ms >= 100, "server.limits.idle_timeout_ms",
              "server.limits.idle_timeout_ms must be at least 100");
    k.require(s.limits.receive_window_ms >= 100, "server.limits.receive_window_ms",
              "server.limits.receive_window_ms must be at least 100");
    k.require(s.limits.max_connections_per_client >= 1, "server.limits.max_connections_per_client",
              "server.limits.max_connections_per_client must be at least 1");
    k.require(s.limits.shed_above_percent >= 1 && s.limits.shed_above_percent <= 100,
              "server.limits.shed_above_percent", "server.limits.shed_above_percent must be 1..100");
    k.require(s.admin_host.empty() || s.admin_max_connections >= 1, "server.admin_max_connections",
              "server.admin_max_connections must be at least 1");
    k.require(s.admin_host.empty() || s.admin_host != s.listen_host || s.admin_port != s.listen_port ||
                  s.listen_port == 0,
              "server.admin_listen", "server.admin_listen must differ from server.listen");
    if (s.tls.enabled) {
        k.require(!s.tls.cert_file.empty(), "server.tls", "server.tls.enabled needs server.tls.cert_file");
        k.require(!s.tls.key_file.empty(), "server.tls", "server.tls.enabled needs server.tls.key_file");
    }

    k.require(c.hub.base_url.empty() || is_http_url(c.hub.base_url), "hub.base_url",
              "hub.base_url must start with http:// or https://");
    // An allowlist entry is "host", "host:port", "[v6]:port" or "*.domain[:port]": read as the
    // authority of a URL, by the same parser that checks a download_url.
    for (const auto& entry : c.hub.download.allowed_hosts) {
        const std::string_view host = std::string_view(entry).substr(entry.rfind("*.", 0) == 0 ? 2 : 0);
        std::string error;
        const bool plain = !host.empty() && host.find_first_of("/?#@") == std::string_view::npos;
        k.require(plain && core::DownloadUrl::parse("https://" + std::string(host) + "/", error).has_value(),
                  "hub.download.allowed_hosts",
                  "hub.download.allowed_hosts: \"" + entry +
                      "\" is not host, host:port, [v6]:port or *.domain (no scheme, path or credentials)");
    }
    static const std::set<std::string> actions = {"segment_event", "segment_track", "segment_group"};
    for (const auto& a : c.hub.actions)
        k.require(
            actions.count(a) == 1, "hub.actions",
            "hub.actions: unknown action \"" + a + "\" (known: segment_event, segment_track, segment_group)");

    const auto& g = c.segment;
    k.require(g.region == "us" || g.region == "eu" || g.region == "custom", "segment.region",
              "segment.region must be us, eu or custom, not \"" + g.region + "\"");
    if (g.region == "custom")
        k.require(is_http_url(g.endpoint), "segment.endpoint",
                  "segment.region custom needs segment.endpoint as http(s)://host[:port]");
    else
        k.require(g.endpoint.empty(), "segment.endpoint",
                  "segment.endpoint is only used with segment.region: custom");
    k.require(g.max_batch_events >= 1 && g.max_batch_events <= 2500, "segment.max_batch_events",
              "segment.max_batch_events must be 1..2500 (Segment rejects more per batch)");
    k.require(g.max_batch_bytes >= 4096 && g.max_batch_bytes <= 500'000, "segment.max_batch_bytes",
              "segment.max_batch_bytes must be 4096..500000 (Segment's limit is 500 KB)");
    k.require(g.max_event_bytes >= 256 && g.max_event_bytes <= 32'000, "segment.max_event_bytes",
              "segment.max_event_bytes must be 256..32000 (Segment's limit is 32 KB)");
    k.require(g.max_event_bytes < g.max_batch_bytes, "segment.max_event_bytes",
              "segment.max_event_bytes must be below segment.max_batch_bytes");
    k.require(g.gzip_level <= 12, "segment.gzip_level",
              "segment.gzip_level must be 0..12 (0: never compress; 1 fastest .. 12 smallest), not " +
                  std::to_string(g.gzip_level));
    k.require(g.max_connections >= 1, "segment.max_connections",
              "segment.max_connections must be at least 1");
    k.require(g.request_timeout_ms >= 100, "segment.request_timeout_ms",
              "segment.request_timeout_ms must be at least 100");
    k.require(g.retry.base_delay_ms >= 1 && g.retry.base_delay_ms <= g.retry.max_delay_ms, "segment.retry",
              "segment.retry.base_delay_ms must be at least 1 and at most segment.retry.max_delay_ms");
    k.require(g.retry.give_up_after_s >= 1, "segment.retry.give_up_after_s",
              "segment.retry.give_up_after_s must be at least 1");
    // The same rule as an execute's segment_write_key (the key may come from the environment:
    // the problem then points at the enclosing key, or line 0).
    if (!g.default_write_key.empty()) {
        const auto problem = core::WriteKeyRule::problem(g.default_write_key);
        k.require(!problem, "segment.default_write_key",
                  "segment.default_write_key (or RELAY_SEGMENT_WRITE_KEY): " + problem.value_or(""));
    }
    k.require(g.per_write_key.requests_per_second > 0, "segment.per_write_key.requests_per_second",
              "segment.per_write_key.requests_per_second must be above 0");
    k.require(g.per_write_key.burst >= 1, "segment.per_write_key.burst",
              "segment.per_write_key.burst must be at least 1");
    k.require(g.per_write_key.max_in_flight >= 1, "segment.per_write_key.max_in_flight",
              "segment.per_write_key.max_in_flight must be at least 1");

    k.require(!c.spool.path.empty(), "spool.path", "spool.path must not be empty");
    k.require(c.spool.max_bytes >= 1024 * 1024, "spool.max_bytes", "spool.max_bytes must be at least 1 MiB");
    k.require(c.spool.poll_interval_ms >= 10, "spool.poll_interval_ms",
              "spool.poll_interval_ms must be at least 10");

    const auto& y = c.sync;
    k.require(is_sync_mode(y.mode), "sync.mode",
              "sync.mode must be all, changes or audience, not \"" + y.mode + "\"");
    k.require(is_audience_events(y.audience_events), "sync.audience_events",
              "sync.audience_events must be identify, track or both, not \"" + y.audience_events + "\"");
    k.require(
        y.max_exit_fraction > 0 && y.max_exit_fraction <= 1, "sync.max_exit_fraction",
        "sync.max_exit_fraction must be above 0 and at most 1 (the share of a baseline a run may remove)");

    k.require(
        c.log.level == "debug" || c.log.level == "info" || c.log.level == "warn" || c.log.level == "error",
        "log.level", "log.level must be debug, info, warn or error, not \"" + c.log.level + "\"");

    std::set<std::string> paths;
    static const std::set<std::string> calls = {"identify", "track", "group"};
    for (std::size_t i = 0; i < c.webhooks.size(); ++i) {
        const auto& w = c.webhooks[i];
        const std::string at = "webhooks[" + std::to_string(i) + "]";
        k.require(!w.name.empty(), at, at + " needs a name");
        k.require(w.path.rfind("/webhooks/", 0) == 0 && w.path.size() > 10, at,
                  at + ".path must start with /webhooks/ and name the route");
        k.require(paths.insert(w.path).second, at, at + ".path \"" + w.path + "\" is used twice");
        k.require(!w.token.empty(), at, at + " needs a token (or RELAY_WEBHOOK_TOKEN_<NAME>)");
        k.require(
            !w.write_key.empty() || !g.default_write_key.empty(), at,
            at + " needs a write_key (or RELAY_WEBHOOK_WRITE_KEY_<NAME>, or segment.default_write_key)");
        if (!w.write_key.empty()) {
            const auto problem = core::WriteKeyRule::problem(w.write_key);
            k.require(!problem, at + ".write_key",
                      at + ".write_key (or RELAY_WEBHOOK_WRITE_KEY_<NAME>): " + problem.value_or(""));
        }
        k.require(calls.count(w.call) == 1, at, at + ".call must be identify, track or group");
        k.require(w.call != "track" || !w.event.empty(), at, at + ": a track route needs an event name");
        k.require(!w.identity.user_id.empty() || !w.identity.anonymous_id.empty() ||
                      !w.identity.email.empty() || !w.identity.group_id.empty(),
                  at, at + ".identity must name at least one of user_id, anonymous_id, email, group_id");
        // Empty: the `sync:` defaults (mode, audience_events), the schedule's title (audience_key).
        k.require(w.sync.empty() || is_sync_mode(w.sync), at + ".sync",
                  at + ".sync must be all, changes or audience, not \"" + w.sync + "\"");
        k.require(w.audience_events.empty() || is_audience_events(w.audience_events), at + ".audience_events",
                  at + ".audience_events must be identify, track or both, not \"" + w.audience_events + "\"");
        k.require(
            w.audience_key.empty() || core::SyncRequestParser::valid_audience_key(w.audience_key),
            at + ".audience_key",
            at +
                ".audience_key must be snake_case: a-z first, then a-z, 0-9 or _, at most 64 characters, "
                "not \"" +
                w.audience_key + "\"");
    }
}

void ConfigValidator::warn(const Config& c, const KeyLocations& where, std::vector<ConfigProblem>& out) {
    Checker k(c, where, out);
    constexpr const char* see = " (README: \"Using it from Looker\")";
    if (!c.hub.base_url.empty()) {
        if (!is_http_url(c.hub.base_url)) return;  // an error already
        for (const auto& p : core::HubBaseUrl::reachability_problems(c.hub.base_url))
            k.require(false, "hub.base_url", "hub.base_url \"" + c.hub.base_url + "\": " + p + see);
        return;
    }
    // Not set: Looker is given the listener's own address.
    const auto followed = core::HubBaseUrl::for_listener(
        c.server.tls.enabled, c.server.listen_host, c.server.listen_port == 0 ? 1 : c.server.listen_port);
    const std::string shown = c.server.listen_port == 0 ? "the listener's address" : followed.url;
    auto problems = core::HubBaseUrl::reachability_problems(followed.url);
    if (problems.empty()) return;
    std::string message = "hub.base_url is not set, so Looker is given " + shown + ":";
    for (std::size_t i = 0; i < problems.size(); ++i) message += (i ? "; " : " ") + problems[i];
    k.require(false, "server.listen", message + "; set hub.base_url to the https:// URL Looker uses" + see);
}

}  // namespace lsr::config
