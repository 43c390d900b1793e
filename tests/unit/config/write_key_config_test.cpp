// Write keys in the config follow the same rule as an execute's segment_write_key
// (core::WriteKeyRule), reported as file:line.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <string>

#include "config/config_loader.hpp"

using lsr::config::ConfigLoader;

TEST_CASE("config: a write key Segment could not accept is a problem at its line") {
    const std::string long_key(2000, 'k');
    const auto r = ConfigLoader::load_string(
        "segment:\n  default_write_key: \"wk with space\"\n"
        "webhooks:\n"
        "  - name: marketing\n"
        "    path: /webhooks/marketing\n"
        "    token: t\n"
        "    write_key: " +
            long_key +
            "\n"
            "    identity: {email: Email}\n",
        "keys.yaml");
    REQUIRE(r.problems.size() == 2);
    CHECK(
        r.problems[0].to_string() ==
        "keys.yaml:2: segment.default_write_key (or RELAY_SEGMENT_WRITE_KEY): The Segment write key contains "
        "whitespace (at byte 3).");
    CHECK(r.problems[1].to_string() ==
          "keys.yaml:7: webhooks[0].write_key (or RELAY_WEBHOOK_WRITE_KEY_<NAME>): The Segment write key is "
          "2000 "
          "bytes long; a write key has at most 1024.");
}

TEST_CASE("config: a write key from the environment is checked too") {
    ::setenv("RELAY_SEGMENT_WRITE_KEY", "wk\x01", 1);
    const auto r = ConfigLoader::load_string("", "env.yaml");
    ::unsetenv("RELAY_SEGMENT_WRITE_KEY");
    REQUIRE(r.problems.size() == 1);
    CHECK(r.problems[0].message.find("control character") != std::string::npos);
}

TEST_CASE("config: good write keys pass") {
    const auto r = ConfigLoader::load_string("segment: {default_write_key: aBc123XyZ}\n", "ok.yaml");
    CHECK(r.ok());
}
