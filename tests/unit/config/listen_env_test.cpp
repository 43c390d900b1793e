#include <catch2/catch.hpp>
#include <cstdlib>

#include "config/config_loader.hpp"

using lsr::config::ConfigLoader;

TEST_CASE("RELAY_ADMIN_LISTEN overrides server.admin_listen", "[config][env]") {
    ::setenv("RELAY_ADMIN_LISTEN", "0.0.0.0:9181", 1);
    const auto r = ConfigLoader::load_string("server:\n  admin_listen: \"127.0.0.1:8081\"\n", "admin.yaml");
    ::unsetenv("RELAY_ADMIN_LISTEN");
    REQUIRE(r.ok());
    CHECK(r.config.server.admin_host == "0.0.0.0");
    CHECK(r.config.server.admin_port == 9181);
    // The main listener is left alone.
    CHECK(r.config.server.listen_host == "127.0.0.1");
    CHECK(r.config.server.listen_port == 8080);
}

TEST_CASE("RELAY_ADMIN_LISTEN and RELAY_LISTEN are read alike", "[config][env]") {
    ::setenv("RELAY_LISTEN", "0.0.0.0:7080", 1);
    ::setenv("RELAY_ADMIN_LISTEN", "0.0.0.0:7081", 1);
    const auto r = ConfigLoader::load_string("", "both.yaml");
    ::unsetenv("RELAY_LISTEN");
    ::unsetenv("RELAY_ADMIN_LISTEN");
    CHECK(r.config.server.listen_host == "0.0.0.0");
    CHECK(r.config.server.listen_port == 7080);
    CHECK(r.config.server.admin_host == "0.0.0.0");
    CHECK(r.config.server.admin_port == 7081);
}

TEST_CASE("RELAY_ADMIN_LISTEN equal to RELAY_LISTEN is refused like the file keys", "[config][env]") {
    ::setenv("RELAY_LISTEN", "127.0.0.1:7080", 1);
    ::setenv("RELAY_ADMIN_LISTEN", "127.0.0.1:7080", 1);
    const auto r = ConfigLoader::load_string("", "same.yaml");
    ::unsetenv("RELAY_LISTEN");
    ::unsetenv("RELAY_ADMIN_LISTEN");
    REQUIRE_FALSE(r.ok());
    bool found = false;
    for (const auto& p : r.problems)
        found |= p.message.find("server.admin_listen must differ") != std::string::npos;
    CHECK(found);
}

TEST_CASE("RELAY_ADMIN_LISTEN without a port separator is ignored, as RELAY_LISTEN is", "[config][env]") {
    ::setenv("RELAY_ADMIN_LISTEN", "nocolon", 1);
    const auto r = ConfigLoader::load_string("", "nocolon.yaml");
    ::unsetenv("RELAY_ADMIN_LISTEN");
    CHECK(r.config.server.admin_host == "127.0.0.1");
    CHECK(r.config.server.admin_port == 8081);
}
