#include "config/config_loader.hpp"

#include <catch2/catch.hpp>
#include <cstdlib>

using lsr::config::ConfigLoader;

TEST_CASE("defaults are valid and match the documented embedded values") {
    const auto r = ConfigLoader::defaults();
    REQUIRE(r.ok());
    CHECK(r.config.server.listen_host == "127.0.0.1");
    CHECK(r.config.server.listen_port == 8080);
    CHECK(r.config.spool.path == "./var/spool.db");
    CHECK(r.config.segment.region == "us");
    CHECK(r.config.delivery.ack == lsr::config::AckMode::spooled);
}

TEST_CASE("an empty file is all defaults") {
    const auto r = ConfigLoader::load_string("", "empty.yaml");
    REQUIRE(r.ok());
    CHECK(r.config.segment.max_batch_events == 2500);
}

TEST_CASE("values are read with their types") {
    const auto r = ConfigLoader::load_string(R"(
server:
  listen: 0.0.0.0:9090
  io_threads: 4
mapping:
  mode: hub
  rename: {users.sessions_count: logins}
  destinations: [Intercom, Zendesk]
segment:
  region: custom
  endpoint: http://127.0.0.1:9999
  per_write_key: {requests_per_second: 12.5, burst: 3}
delivery: {ack: delivered}
webhooks:
  - name: marketing
    path: /webhooks/marketing
    token: t
    write_key: wk
    identity: {email: Email}
)",
                                             "x.yaml");
    INFO((r.problems.empty() ? std::string() : r.problems.front().to_string()));
    REQUIRE(r.ok());
    CHECK(r.config.server.listen_host == "0.0.0.0");
    CHECK(r.config.server.listen_port == 9090);
    CHECK(r.config.server.io_threads == 4);
    CHECK(r.config.mapping.mode == lsr::core::MappingMode::hub);
    CHECK(r.config.mapping.rename.at("users.sessions_count") == "logins");
    CHECK(r.config.mapping.destinations.size() == 2);
    CHECK(r.config.segment.per_write_key.requests_per_second == Approx(12.5));
    CHECK(r.config.delivery.ack == lsr::config::AckMode::delivered);
    REQUIRE(r.config.webhooks.size() == 1);
    CHECK(r.config.webhooks[0].identity.email == "Email");
}

TEST_CASE("every problem is reported with its line") {
    const auto r = ConfigLoader::load_string(
        "server:\n  io_threads: -1\n  bogus: 1\nsegment:\n  region: mars\n"
        "log:\n  level: loud\n",
        "bad.yaml");
    REQUIRE(r.problems.size() == 4);
    CHECK(r.problems[0].to_string().rfind("bad.yaml:2: server.io_threads", 0) == 0);
    CHECK(r.problems[1].to_string().rfind("bad.yaml:3: unknown key \"server.bogus\"", 0) == 0);
    bool region = false, level = false;
    for (const auto& p : r.problems) {
        region |= p.line == 5 && p.message.find("segment.region") != std::string::npos;
        level |= p.line == 7 && p.message.find("log.level") != std::string::npos;
    }
    CHECK(region);
    CHECK(level);
}

TEST_CASE("a YAML syntax error is a problem, not a crash") {
    const auto r = ConfigLoader::load_string("server: [unclosed\n", "syntax.yaml");
    REQUIRE_FALSE(r.ok());
    CHECK(r.problems[0].message.find("YAML syntax error") == 0);
}

TEST_CASE("environment overrides secrets") {
    ::setenv("RELAY_HUB_SECRET", "from-env", 1);
    ::setenv("RELAY_SEGMENT_WRITE_KEY", "wk-env", 1);
    ::setenv("RELAY_WEBHOOK_TOKEN_MARKETING", "tok-env", 1);
    const auto r = ConfigLoader::load_string(
        "hub: {secret: from-file}\nwebhooks:\n  - {name: marketing, path: /webhooks/m, token: x, identity: "
        "{email: E}}\n",
        "env.yaml");
    ::unsetenv("RELAY_HUB_SECRET");
    ::unsetenv("RELAY_SEGMENT_WRITE_KEY");
    ::unsetenv("RELAY_WEBHOOK_TOKEN_MARKETING");
    REQUIRE(r.ok());
    CHECK(r.config.hub.secret == "from-env");
    CHECK(r.config.segment.default_write_key == "wk-env");
    CHECK(r.config.webhooks[0].token == "tok-env");
}

TEST_CASE("cross-field rules") {
    const auto r =
        ConfigLoader::load_string("segment:\n  region: custom\n  max_batch_events: 3000\n", "c.yaml");
    REQUIRE(r.problems.size() == 2);
    CHECK(r.problems[0].line == 2);
    CHECK(r.problems[1].line == 3);
}

TEST_CASE("hub.base_url is empty by default: it follows the listener") {
    const auto r = ConfigLoader::defaults();
    REQUIRE(r.ok());
    CHECK(r.config.hub.base_url.empty());
}

TEST_CASE("warnings: a hub.base_url Looker cannot reach, with its line; never an error") {
    const auto r = ConfigLoader::load_string(
        "server:\n  listen: 127.0.0.1:8080\nhub:\n  base_url: http://localhost:8080\n", "relay.yaml");
    REQUIRE(r.ok());
    REQUIRE(r.warnings.size() == 2);
    CHECK(r.warnings[0].line == 4);
    CHECK(r.warnings[0].warning_string().rfind("relay.yaml:4: warning: hub.base_url", 0) == 0);
    CHECK(r.warnings[0].message.find("localhost") != std::string::npos);
    CHECK(r.warnings[1].message.find("https") != std::string::npos);

    const auto plain = ConfigLoader::load_string("hub: {base_url: \"http://relay.example.com\"}\n", "p.yaml");
    REQUIRE(plain.ok());
    REQUIRE(plain.warnings.size() == 1);
    CHECK(plain.warnings[0].message.find("https") != std::string::npos);

    const auto good = ConfigLoader::load_string("hub: {base_url: \"https://relay.example.com\"}\n", "g.yaml");
    REQUIRE(good.ok());
    CHECK(good.warnings.empty());
}

TEST_CASE("warnings: without hub.base_url, the listener's own address is checked") {
    const auto r = ConfigLoader::load_string("server:\n  listen: 0.0.0.0:8080\n", "relay.yaml");
    REQUIRE(r.ok());
    REQUIRE(r.warnings.size() == 1);
    CHECK(r.warnings[0].line == 2);
    CHECK(r.warnings[0].message.find("hub.base_url is not set") != std::string::npos);

    const auto tls_public = ConfigLoader::load_string(
        "server:\n  listen: relay.example.com:443\n  tls: {enabled: true, cert_file: c.pem, key_file: "
        "k.pem}\n",
        "t.yaml");
    REQUIRE(tls_public.ok());
    CHECK(tls_public.warnings.empty());
}

TEST_CASE("segment.gzip_level: 1 by default, 0..12, anything else refused with its line") {
    CHECK(ConfigLoader::load_string("", "g.yaml").config.segment.gzip_level == 1);
    const auto zero = ConfigLoader::load_string("segment:\n  gzip_level: 0\n", "g.yaml");
    REQUIRE(zero.ok());
    CHECK(zero.config.segment.gzip_level == 0);
    const auto twelve = ConfigLoader::load_string("segment:\n  gzip_level: 12\n", "g.yaml");
    REQUIRE(twelve.ok());
    CHECK(twelve.config.segment.gzip_level == 12);
    const auto r = ConfigLoader::load_string("segment:\n  gzip_level: 13\n", "g.yaml");
    REQUIRE(r.problems.size() == 1);
    CHECK(r.problems[0].line == 2);
    CHECK(r.problems[0].message.find("segment.gzip_level must be 0..12") != std::string::npos);
}
