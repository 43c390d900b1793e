// hub.download.allowed_hosts entries are checked as the authority of a URL, by the parser that
// checks a download_url, so an entry that could never match is reported at its line.
#include <catch2/catch.hpp>
#include <string>

#include "config/config_loader.hpp"

using lsr::config::ConfigLoader;

TEST_CASE("config: allowlist entries are host, host:port, [v6]:port or *.domain") {
    const auto ok = ConfigLoader::load_string(
        "hub:\n  download:\n    allowed_hosts: [looker.example.com, \"looker.example.com:19999\", "
        "\"[2001:db8::1]:443\", \"*.looker.com\", \"*.looker.com:8443\", 127.0.0.1]\n",
        "ok.yaml");
    CHECK(ok.problems.empty());

    for (const std::string bad :
         {"https://looker.example.com", "looker.example.com/api", "user@looker.example.com",
          "looker.example.com:99999", "looker example.com", "", "*."}) {
        const auto r = ConfigLoader::load_string("hub:\n  download:\n    allowed_hosts: [\"" + bad + "\"]\n",
                                                 "bad.yaml");
        INFO(bad);
        REQUIRE(r.problems.size() == 1);
        CHECK(r.problems[0].to_string().rfind(
                  "bad.yaml:3: hub.download.allowed_hosts: \"" + bad + "\" is not", 0) == 0);
    }
}
