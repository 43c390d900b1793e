#include "core/hub/hub_base_url.hpp"

#include <catch2/catch.hpp>

using lsr::core::HubBaseUrl;

TEST_CASE("the base URL follows the listener: scheme, host and bound port") {
    CHECK(HubBaseUrl::for_listener(false, "127.0.0.1", 8080).url == "http://127.0.0.1:8080");
    CHECK(HubBaseUrl::for_listener(true, "127.0.0.1", 8443).url == "https://127.0.0.1:8443");
    CHECK(HubBaseUrl::for_listener(true, "relay.example.com", 443).url == "https://relay.example.com");
    CHECK(HubBaseUrl::for_listener(false, "relay.example.com", 80).url == "http://relay.example.com");
    CHECK(HubBaseUrl::for_listener(false, "10.1.2.3", 41234).url == "http://10.1.2.3:41234");
    CHECK(HubBaseUrl::for_listener(false, "::1", 9000).url == "http://[::1]:9000");
    CHECK_FALSE(HubBaseUrl::for_listener(false, "127.0.0.1", 8080).wildcard);
}

TEST_CASE("a wildcard listen address is advertised as 127.0.0.1 and flagged") {
    for (const char* host : {"0.0.0.0", "::", "[::]", ""}) {
        const auto u = HubBaseUrl::for_listener(false, host, 8080);
        CHECK(u.url == "http://127.0.0.1:8080");
        CHECK(u.wildcard);
    }
}

TEST_CASE("local-only hosts") {
    for (const char* host : {"localhost", "LOCALHOST", "relay.localhost", "127.0.0.1", "127.1.2.3", "::1",
                             "[::1]", "0.0.0.0", "::"})
        CHECK(HubBaseUrl::local_only_host(host));
    for (const char* host : {"relay.example.com", "10.0.0.1", "127.example.com", "localhost.example.com"})
        CHECK_FALSE(HubBaseUrl::local_only_host(host));
}

TEST_CASE("what Looker cannot use as an Action Hub URL") {
    CHECK(HubBaseUrl::reachability_problems("https://relay.example.com").empty());
    CHECK(HubBaseUrl::reachability_problems("https://relay.example.com:8443/looker").empty());
    const auto plain = HubBaseUrl::reachability_problems("http://relay.example.com");
    REQUIRE(plain.size() == 1);
    CHECK(plain[0].find("https") != std::string::npos);
    const auto local = HubBaseUrl::reachability_problems("https://localhost:8443");
    REQUIRE(local.size() == 1);
    CHECK(local[0].find("localhost") != std::string::npos);
    CHECK(HubBaseUrl::reachability_problems("http://127.0.0.1:8080").size() == 2);
    CHECK(HubBaseUrl::reachability_problems("http://0.0.0.0:8080").size() == 2);
    CHECK(HubBaseUrl::reachability_problems("http://[::1]:8080").size() == 2);
}
