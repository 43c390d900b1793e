#include "core/hub/download_url.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

using lsr::core::DownloadUrl;

namespace {

std::optional<DownloadUrl> parse(const std::string& text, std::string& err) {
    return DownloadUrl::parse(text, err);
}

}  // namespace

TEST_CASE("DownloadUrl refuses control characters, spaces and bad escapes", "[download_url]") {
    std::string err;
    const std::string base = "https://looker.example.com/api/internal/download/abc?token=1";
    REQUIRE(parse(base, err));
    // Header injection and request splitting.
    CHECK_FALSE(parse(base + "\r\nX-Injected: 1", err));
    CHECK(err == "The download_url contains a control character.");
    CHECK_FALSE(parse(base + " HTTP/1.1\r\nHost: evil\r\n\r\nGET /x", err));
    CHECK_FALSE(parse(base + "\n", err));
    CHECK_FALSE(parse(base + std::string(1, '\0'), err));
    CHECK(err == "The download_url contains a control character.");
    CHECK_FALSE(parse(base + "\t", err));
    CHECK_FALSE(parse(base + "\x7f", err));
    CHECK_FALSE(parse("https://looker.example.com\r\n/x", err));
    CHECK_FALSE(parse("https://looker.example.com/a b", err));
    CHECK(err == "The download_url contains a space.");
    CHECK_FALSE(parse("https://looker.example.com/%zz", err));
    CHECK(err == "The download_url contains an invalid percent-encoding.");
    CHECK_FALSE(parse("https://looker.example.com/%4", err));
    CHECK_FALSE(parse("https://looker.example.com/%", err));
    CHECK_FALSE(parse("https://looker.example.com/\xc3\xa9", err));
    CHECK_FALSE(parse("https://looker.example.com/a\\b", err));
    CHECK_FALSE(parse("https://looker.example.com/a\"b", err));
    CHECK_FALSE(parse("https://looker.example.com/<script>", err));
    // Escaped CR LF stay escaped: nothing is decoded into the request line.
    auto ok = parse("https://looker.example.com/a%0D%0Ab?x=%20", err);
    REQUIRE(ok);
    CHECK(ok->target == "/a%0D%0Ab?x=%20");
}

TEST_CASE("DownloadUrl takes a URL apart", "[download_url]") {
    std::string err;
    auto u = parse("HTTPS://Looker.Example.com/download/abc?x=1#frag", err);
    REQUIRE(u);
    CHECK(u->tls);
    CHECK(u->host == "looker.example.com");
    CHECK(u->port == 443);
    CHECK(u->target == "/download/abc?x=1");
    CHECK(u->host_header() == "looker.example.com");
    u = parse("http://127.0.0.1:8080", err);
    REQUIRE(u);
    CHECK_FALSE(u->tls);
    CHECK(u->port == 8080);
    CHECK(u->target == "/");
    CHECK(u->host_header() == "127.0.0.1:8080");
    u = parse("https://host.example?q=1", err);
    REQUIRE(u);
    CHECK(u->target == "/?q=1");
    u = parse("http://[::1]:9000/a", err);
    REQUIRE(u);
    CHECK(u->host == "::1");
    CHECK(u->host_header() == "[::1]:9000");
    CHECK_FALSE(parse("https://user:pw@looker.example.com/x", err));
    CHECK_FALSE(parse("ftp://looker.example.com/x", err));
    CHECK_FALSE(parse("looker.example.com/x", err));
    CHECK_FALSE(parse("https:///x", err));
    CHECK_FALSE(parse("https://looker.example.com:0/x", err));
    CHECK_FALSE(parse("https://looker.example.com:99999/x", err));
    CHECK_FALSE(parse("https://looker.example.com:/x", err));
    CHECK_FALSE(parse("https://looker.example.com:44a/x", err));
    CHECK_FALSE(parse("https://looker.example.com:443:443/x", err));
    CHECK_FALSE(parse("https://[::1/x", err));
    CHECK_FALSE(parse("https://[fe80::1%25eth0]/x", err));
    CHECK_FALSE(parse("https://looker_example!.com/x", err));
}

TEST_CASE("DownloadUrl allowlist names the port", "[download_url]") {
    const std::vector<std::string> allowed = {"looker.example.com", "other.example.com:19999",
                                              "*.cloud.looker.com", "[::1]:8443"};
    std::string err;
    CHECK(DownloadUrl::check("https://looker.example.com/x", allowed, false, err));
    CHECK(DownloadUrl::check("https://looker.example.com:443/x", allowed, false, err));
    CHECK_FALSE(DownloadUrl::check("https://looker.example.com:8443/x", allowed, false, err));
    CHECK(err ==
          "The download_url port 8443 of host \"looker.example.com\" is not in hub.download.allowed_hosts "
          "(an entry without a port allows port 443 only).");
    CHECK_FALSE(DownloadUrl::check("https://looker.example.com:22/x", allowed, false, err));
    CHECK(DownloadUrl::check("https://other.example.com:19999/x", allowed, false, err));
    CHECK_FALSE(DownloadUrl::check("https://other.example.com/x", allowed, false, err));
    CHECK(DownloadUrl::check("https://a.cloud.looker.com/x", allowed, false, err));
    CHECK_FALSE(DownloadUrl::check("https://a.cloud.looker.com:19999/x", allowed, false, err));
    CHECK_FALSE(DownloadUrl::check("https://cloud.looker.com/x", allowed, false, err));
    CHECK(err == "The download_url host \"cloud.looker.com\" is not in hub.download.allowed_hosts.");
    CHECK_FALSE(DownloadUrl::check("https://looker.example.com.evil.com/x", allowed, false, err));
    CHECK(DownloadUrl::check("https://[::1]:8443/x", allowed, false, err));
    CHECK_FALSE(DownloadUrl::check("https://[::1]/x", allowed, false, err));
    // Plain http: only to loopback in the test mode.
    CHECK_FALSE(DownloadUrl::check("http://looker.example.com/x", allowed, true, err));
    CHECK(err == "The download_url must use https.");
}

TEST_CASE("DownloadUrl loopback test mode", "[download_url]") {
    std::string err;
    const std::vector<std::string> bare = {"127.0.0.1"};
    // A bare loopback entry allows any port over http in the test mode only.
    CHECK(DownloadUrl::check("http://127.0.0.1:41234/x", bare, true, err));
    CHECK_FALSE(DownloadUrl::check("http://127.0.0.1:41234/x", bare, false, err));
    CHECK_FALSE(DownloadUrl::check("https://127.0.0.1:41234/x", bare, true, err));
    const std::vector<std::string> with_port = {"127.0.0.1:41234"};
    CHECK(DownloadUrl::check("http://127.0.0.1:41234/x", with_port, true, err));
    CHECK_FALSE(DownloadUrl::check("http://127.0.0.1:41235/x", with_port, true, err));
    CHECK(err.find("port 41235") != std::string::npos);
    CHECK_FALSE(DownloadUrl::check("http://127.0.0.1:41234/x\r\nX-Injected: 1", with_port, true, err));
}
