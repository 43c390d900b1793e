#include "config/config_loader.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>

#include "config/config_validator.hpp"
#include "config/yaml_reader.hpp"

namespace lsr::config {

std::string ConfigProblem::to_string() const {
    std::string out = file;
    if (line > 0) out += ":" + std::to_string(line);
    out += ": " + message;
    return out;
}

std::string ConfigProblem::warning_string() const {
    std::string out = file;
    if (line > 0) out += ":" + std::to_string(line);
    out += ": warning: " + message;
    return out;
}

namespace {

void read_identity(YamlReader& r, const YAML::Node& n, const std::string& path, core::IdentityColumns& id) {
    r.object(n, path, {"user_id", "anonymous_id", "email", "group_id"});
    r.str(n, path, "user_id", id.user_id);
    r.str(n, path, "anonymous_id", id.anonymous_id);
    r.str(n, path, "email", id.email);
    r.str(n, path, "group_id", id.group_id);
}

void read_server(YamlReader& r, const YAML::Node& n, ServerConfig& s) {
    if (!r.object(n, "server",
                  {"listen", "admin_listen", "admin_max_connections", "io_threads", "worker_threads",
                   "drain_grace_ms", "execute_keepalive_ms", "temp_dir", "limits", "tls"}))
        return;
    std::string listen;
    if (r.str(n, "server", "listen", listen))
        r.host_port(n["listen"], "server.listen", listen, s.listen_host, s.listen_port);
    std::string admin;
    if (r.str(n, "server", "admin_listen", admin)) {
        if (admin.empty()) {
            s.admin_host.clear();
            s.admin_port = 0;
        } else {
            r.host_port(n["admin_listen"], "server.admin_listen", admin, s.admin_host, s.admin_port);
        }
    }
    r.num(n, "server", "admin_max_connections", s.admin_max_connections);
    r.num(n, "server", "io_threads", s.io_threads);
    r.num(n, "server", "worker_threads", s.worker_threads);
    r.num(n, "server", "drain_grace_ms", s.drain_grace_ms);
    r.num(n, "server", "execute_keepalive_ms", s.execute_keepalive_ms);
    r.str(n, "server", "temp_dir", s.temp_dir);
    if (const auto l = n["limits"];
        l &&
        r.object(l, "server.limits",
                 {"max_header_bytes", "max_body_bytes", "max_small_body_bytes", "read_header_timeout_ms",
                  "read_body_timeout_ms", "idle_timeout_ms", "max_connections", "min_receive_bytes_per_s",
                  "receive_window_ms", "max_connections_per_client", "shed_above_percent"})) {
        auto& x = s.limits;
        r.num(l, "server.limits", "max_header_bytes", x.max_header_bytes);
        r.num(l, "server.limits", "max_body_bytes", x.max_body_bytes);
        r.num(l, "server.limits", "max_small_body_bytes", x.max_small_body_bytes);
        r.num(l, "server.limits", "read_header_timeout_ms", x.read_header_timeout_ms);
        r.num(l, "server.limits", "read_body_timeout_ms", x.read_body_timeout_ms);
        r.num(l, "server.limits", "idle_timeout_ms", x.idle_timeout_ms);
        r.num(l, "server.limits", "max_connections", x.max_connections);
        r.num(l, "server.limits", "min_receive_bytes_per_s", x.min_receive_bytes_per_s);
        r.num(l, "server.limits", "receive_window_ms", x.receive_window_ms);
        r.num(l, "server.limits", "max_connections_per_client", x.max_connections_per_client);
        r.num(l, "server.limits", "shed_above_percent", x.shed_above_percent);
    }
    if (const auto t = n["tls"]; t && r.object(t, "server.tls", {"enabled", "cert_file", "key_file"})) {
        r.boolean(t, "server.tls", "enabled", s.tls.enabled);
        r.str(t, "server.tls", "cert_file", s.tls.cert_file);
        r.str(t, "server.tls", "key_file", s.tls.key_file);
    }
}

void read_hub(YamlReader& r, const YAML::Node& n, HubConfig& h) {
    if (!r.object(n, "hub", {"label", "base_url", "secret", "tokens", "actions", "download"})) return;
    r.str(n, "hub", "label", h.label);
    r.str(n, "hub", "base_url", h.base_url);
    r.str(n, "hub", "secret", h.secret);
    r.str_list(n, "hub", "tokens", h.tokens);
    r.str_list(n, "hub", "actions", h.actions);
    if (const auto d = n["download"];
        d && r.object(d, "hub.download",
                      {"allowed_hosts", "allow_loopback_http", "connect_timeout_ms", "timeout_ms",
                       "max_bytes", "ca_file"})) {
        auto& x = h.download;
        r.str_list(d, "hub.download", "allowed_hosts", x.allowed_hosts);
        r.boolean(d, "hub.download", "allow_loopback_http", x.allow_loopback_http);
        r.num(d, "hub.download", "connect_timeout_ms", x.connect_timeout_ms);
        r.num(d, "hub.download", "timeout_ms", x.timeout_ms);
        r.num(d, "hub.download", "max_bytes", x.max_bytes);
        r.str(d, "hub.download", "ca_file", x.ca_file);
    }
}

void read_mapping(YamlReader& r, const YAML::Node& n, core::MappingSettings& m) {
    if (!r.object(n, "mapping",
                  {"mode", "trait_naming", "rename", "send_nulls", "destinations",
                   "disable_unready_destinations", "identity", "max_reasons_reported"}))
        return;
    std::string mode;
    if (r.str(n, "mapping", "mode", mode)) {
        if (mode == "default" || mode == "standard")
            m.mode = core::MappingMode::standard;
        else if (mode == "hub")
            m.mode = core::MappingMode::hub;
        else
            r.problem(n["mode"], "mapping.mode must be \"default\" or \"hub\", not \"" + mode + "\"");
    }
    std::string naming;
    if (r.str(n, "mapping", "trait_naming", naming)) {
        if (naming == "short_name")
            m.trait_naming = core::TraitNaming::short_name;
        else if (naming == "label")
            m.trait_naming = core::TraitNaming::label;
        else
            r.problem(n["trait_naming"],
                      "mapping.trait_naming must be \"short_name\" or \"label\", not \"" + naming + "\"");
    }
    r.str_map(n, "mapping", "rename", m.rename);
    r.boolean(n, "mapping", "send_nulls", m.send_nulls);
    r.str_list(n, "mapping", "destinations", m.destinations);
    r.boolean(n, "mapping", "disable_unready_destinations", m.disable_unready_destinations);
    if (const auto id = n["identity"]) read_identity(r, id, "mapping.identity", m.identity);
    r.num(n, "mapping", "max_reasons_reported", m.max_reasons_reported);
}

void read_webhooks(YamlReader& r, const YAML::Node& n, std::vector<WebhookRoute>& out) {
    if (!n.IsSequence()) {
        r.problem(n, "webhooks must be a list of routes");
        return;
    }
    for (std::size_t i = 0; i < n.size(); ++i) {
        const auto e = n[i];
        const std::string path = "webhooks[" + std::to_string(i) + "]";
        WebhookRoute w;
        if (!r.object(e, path,
                      {"name", "path", "token", "write_key", "call", "event", "identity", "sync",
                       "audience_key", "audience_events", "resync", "allow_mass_exit"}))
            continue;
        r.str(e, path, "name", w.name);
        r.str(e, path, "path", w.path);
        r.str(e, path, "token", w.token);
        r.str(e, path, "write_key", w.write_key);
        r.str(e, path, "call", w.call);
        r.str(e, path, "event", w.event);
        if (const auto id = e["identity"]) read_identity(r, id, path + ".identity", w.identity);
        r.str(e, path, "sync", w.sync);
        r.str(e, path, "audience_key", w.audience_key);
        r.str(e, path, "audience_events", w.audience_events);
        r.boolean(e, path, "resync", w.resync);
        r.boolean(e, path, "allow_mass_exit", w.allow_mass_exit);
        r.remember(path, e);
        out.push_back(std::move(w));
    }
}

void read_segment(YamlReader& r, const YAML::Node& n, SegmentConfig& s) {
    if (!r.object(n, "segment",
                  {"region", "endpoint", "default_write_key", "max_batch_events", "max_batch_bytes",
                   "max_event_bytes", "gzip_min_bytes", "gzip_level", "connect_timeout_ms",
                   "request_timeout_ms", "max_connections", "ca_file", "retry", "per_write_key"}))
        return;
    r.str(n, "segment", "region", s.region);
    r.str(n, "segment", "endpoint", s.endpoint);
    r.str(n, "segment", "default_write_key", s.default_write_key);
    r.num(n, "segment", "max_batch_events", s.max_batch_events);
    r.num(n, "segment", "max_batch_bytes", s.max_batch_bytes);
    r.num(n, "segment", "max_event_bytes", s.max_event_bytes);
    r.num(n, "segment", "gzip_min_bytes", s.gzip_min_bytes);
    r.num(n, "segment", "gzip_level", s.gzip_level);
    r.num(n, "segment", "connect_timeout_ms", s.connect_timeout_ms);
    r.num(n, "segment", "request_timeout_ms", s.request_timeout_ms);
    r.num(n, "segment", "max_connections", s.max_connections);
    r.str(n, "segment", "ca_file", s.ca_file);
    if (const auto t = n["retry"];
        t && r.object(t, "segment.retry",
                      {"base_delay_ms", "max_delay_ms", "retry_after_cap_ms", "give_up_after_s"})) {
        r.num(t, "segment.retry", "base_delay_ms", s.retry.base_delay_ms);
        r.num(t, "segment.retry", "max_delay_ms", s.retry.max_delay_ms);
        r.num(t, "segment.retry", "retry_after_cap_ms", s.retry.retry_after_cap_ms);
        r.num(t, "segment.retry", "give_up_after_s", s.retry.give_up_after_s);
    }
    if (const auto k = n["per_write_key"];
        k && r.object(k, "segment.per_write_key", {"requests_per_second", "burst", "max_in_flight"})) {
        r.num(k, "segment.per_write_key", "requests_per_second", s.per_write_key.requests_per_second);
        r.num(k, "segment.per_write_key", "burst", s.per_write_key.burst);
        r.num(k, "segment.per_write_key", "max_in_flight", s.per_write_key.max_in_flight);
    }
}

void read_sync(YamlReader& r, const YAML::Node& n, SyncConfig& s) {
    if (!r.object(n, "sync",
                  {"mode", "audience_events", "max_exit_fraction", "max_members", "forget_after_days"}))
        return;
    r.str(n, "sync", "mode", s.mode);
    r.str(n, "sync", "audience_events", s.audience_events);
    r.num(n, "sync", "max_exit_fraction", s.max_exit_fraction);
    r.num(n, "sync", "max_members", s.max_members);
    r.num(n, "sync", "forget_after_days", s.forget_after_days);
}

void read_root(YamlReader& r, const YAML::Node& root, Config& c) {
    if (root.IsNull()) return;  // an empty file: all defaults
    if (!r.object(
            root, "",
            {"server", "hub", "mapping", "webhooks", "segment", "delivery", "spool", "sync", "runs", "log"}))
        return;
    if (const auto n = root["server"]) read_server(r, n, c.server);
    if (const auto n = root["hub"]) read_hub(r, n, c.hub);
    if (const auto n = root["mapping"]) read_mapping(r, n, c.mapping);
    if (const auto n = root["webhooks"]) read_webhooks(r, n, c.webhooks);
    if (const auto n = root["segment"]) read_segment(r, n, c.segment);
    if (const auto n = root["delivery"]; n && r.object(n, "delivery", {"ack", "ack_delivered_timeout_ms"})) {
        std::string ack;
        if (r.str(n, "delivery", "ack", ack)) {
            if (ack == "spooled")
                c.delivery.ack = AckMode::spooled;
            else if (ack == "delivered")
                c.delivery.ack = AckMode::delivered;
            else
                r.problem(n["ack"], "delivery.ack must be \"spooled\" or \"delivered\", not \"" + ack + "\"");
        }
        r.num(n, "delivery", "ack_delivered_timeout_ms", c.delivery.ack_delivered_timeout_ms);
    }
    if (const auto n = root["spool"]; n && r.object(n, "spool",
                                                    {"path", "max_bytes", "synchronous_full",
                                                     "poll_interval_ms", "temp_dir", "min_free_bytes"})) {
        r.str(n, "spool", "path", c.spool.path);
        r.num(n, "spool", "max_bytes", c.spool.max_bytes);
        r.boolean(n, "spool", "synchronous_full", c.spool.synchronous_full);
        r.num(n, "spool", "poll_interval_ms", c.spool.poll_interval_ms);
        r.str(n, "spool", "temp_dir", c.spool.temp_dir);
        r.num(n, "spool", "min_free_bytes", c.spool.min_free_bytes);
    }
    if (const auto n = root["sync"]) read_sync(r, n, c.sync);
    if (const auto n = root["runs"]; n && r.object(n, "runs", {"keep_days"}))
        r.num(n, "runs", "keep_days", c.runs.keep_days);
    if (const auto n = root["log"]; n && r.object(n, "log", {"level"})) r.str(n, "log", "level", c.log.level);
}

std::string env_name_suffix(const std::string& name) {
    std::string out;
    for (char ch : name) {
        if (std::isalnum(static_cast<unsigned char>(ch)))
            out += static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
        else
            out += '_';
    }
    return out;
}

// Secrets come from the environment so they need not sit in the file.
void apply_environment(Config& c) {
    auto get = [](const char* name) -> const char* {
        const char* v = std::getenv(name);
        return (v && *v) ? v : nullptr;
    };
    if (auto v = get("RELAY_HUB_SECRET")) c.hub.secret = v;
    if (auto v = get("RELAY_HUB_TOKENS")) {
        c.hub.tokens.clear();
        std::stringstream ss(v);
        for (std::string t; std::getline(ss, t, ',');)
            if (!t.empty()) c.hub.tokens.push_back(t);
    }
    if (auto v = get("RELAY_SEGMENT_WRITE_KEY")) c.segment.default_write_key = v;
    if (auto v = get("RELAY_SEGMENT_ENDPOINT")) {
        c.segment.region = "custom";
        c.segment.endpoint = v;
    }
    // host:port; a value without a colon is ignored.
    auto listen = [&](const char* name, std::string& host, std::uint16_t& port) {
        const char* v = get(name);
        if (!v) return;
        const std::string s = v;
        const auto colon = s.rfind(':');
        if (colon != std::string::npos) {
            host = s.substr(0, colon);
            port = static_cast<std::uint16_t>(std::atoi(s.c_str() + colon + 1));
        }
    };
    listen("RELAY_LISTEN", c.server.listen_host, c.server.listen_port);
    listen("RELAY_ADMIN_LISTEN", c.server.admin_host, c.server.admin_port);
    if (auto v = get("RELAY_SPOOL_PATH")) c.spool.path = v;
    for (auto& w : c.webhooks) {
        const std::string suffix = env_name_suffix(w.name);
        if (suffix.empty()) continue;
        if (auto v = get(("RELAY_WEBHOOK_TOKEN_" + suffix).c_str())) w.token = v;
        if (auto v = get(("RELAY_WEBHOOK_WRITE_KEY_" + suffix).c_str())) w.write_key = v;
    }
}

LoadResult finish(Config config, YamlReader& reader) {
    LoadResult result;
    apply_environment(config);
    result.problems = reader.take_problems();
    ConfigValidator::validate(config, reader.locations(), result.problems);
    ConfigValidator::warn(config, reader.locations(), result.warnings);
    // In file order, problems without a line last.
    std::stable_sort(result.problems.begin(), result.problems.end(), [](const auto& a, const auto& b) {
        const int la = a.line == 0 ? std::numeric_limits<int>::max() : a.line;
        const int lb = b.line == 0 ? std::numeric_limits<int>::max() : b.line;
        return la < lb;
    });
    result.config = std::move(config);
    return result;
}

}  // namespace

LoadResult ConfigLoader::load_string(std::string_view yaml, const std::string& source_name) {
    Config config;
    config.source = source_name;
    YamlReader reader(source_name);
    try {
        const YAML::Node root = YAML::Load(std::string(yaml));
        read_root(reader, root, config);
    } catch (const YAML::Exception& e) {
        reader.problem_at(e.mark.line + 1, "YAML syntax error: " + e.msg);
    }
    return finish(std::move(config), reader);
}

LoadResult ConfigLoader::load_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        LoadResult r;
        r.problems.push_back({path, 0, "cannot read the configuration file"});
        return r;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    return load_string(ss.str(), path);
}

LoadResult ConfigLoader::defaults() {
    Config config;
    config.source = "<defaults>";
    YamlReader reader("<defaults>");
    return finish(std::move(config), reader);
}

}  // namespace lsr::config
