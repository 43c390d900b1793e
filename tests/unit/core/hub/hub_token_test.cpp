#include "core/hub/hub_token.hpp"

#include <catch2/catch.hpp>

using lsr::core::HubToken;

TEST_CASE("HubToken parses the Authorization header as the hub does", "[hub_token]") {
    CHECK(HubToken::from_authorization(R"(Token token="abc/def")") ==
          std::optional<std::string_view>("abc/def"));
    CHECK(HubToken::from_authorization(R"(token token="x")") == std::optional<std::string_view>("x"));
    CHECK(HubToken::from_authorization(R"(Token token="")") == std::optional<std::string_view>(""));
    CHECK_FALSE(HubToken::from_authorization("Token token=abc"));
    CHECK_FALSE(HubToken::from_authorization("Bearer abc"));
    CHECK_FALSE(HubToken::from_authorization(""));
    CHECK_FALSE(HubToken::from_authorization(R"(Token token=")"));
    CHECK_FALSE(HubToken::from_authorization(R"(TOKEN TOKEN="abc")"));
    CHECK_FALSE(HubToken::from_authorization(R"(oken token="abc")"));
    // The hub's pattern is unanchored and its capture greedy, up to the last quote.
    CHECK(HubToken::from_authorization(R"(Bearer x, Token token="abc")") ==
          std::optional<std::string_view>("abc"));
    CHECK(HubToken::from_authorization(R"(Token token="a" b="c")") ==
          std::optional<std::string_view>(R"(a" b="c)"));
    // `[T|t]` is a character class, so a '|' matches too.
    CHECK(HubToken::from_authorization(R"(|oken token="abc")") == std::optional<std::string_view>("abc"));
}

TEST_CASE("HubToken signs with HMAC-SHA512 in lower-case hex", "[hub_token]") {
    // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
    CHECK(HubToken::sign("Jefe", "what do ya want for nothing?") ==
          "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdca"
          "eab1a34d4a6b4b636e070a38bce737");
}

TEST_CASE("HubToken accepts signed tokens and rejects everything else", "[hub_token]") {
    HubToken auth("s3cret", {});
    std::string token = HubToken::make_token("s3cret");
    REQUIRE(token.size() == 64 + 1 + 128);
    CHECK(token[64] == '/');
    CHECK(auth.verify(token));
    CHECK(auth.verify_authorization("Token token=\"" + token + "\""));
    CHECK(auth.verify_authorization("token token=\"" + token + "\""));
    CHECK(HubToken::make_token("s3cret") != token);

    std::string nonce = token.substr(0, 64);
    std::string digest = token.substr(65);
    SECTION("wrong digest") {
        std::string bad = digest;
        bad[5] = bad[5] == 'a' ? 'b' : 'a';
        CHECK_FALSE(auth.verify(nonce + "/" + bad));
    }
    SECTION("wrong lengths never throw") {
        CHECK_FALSE(auth.verify(nonce + "/" + digest.substr(0, 127)));
        CHECK_FALSE(auth.verify(nonce + "/" + digest + "0"));
        CHECK_FALSE(auth.verify(nonce + "/"));
        CHECK_FALSE(auth.verify("/" + digest));
        CHECK_FALSE(auth.verify(""));
        CHECK_FALSE(auth.verify(nonce));
        CHECK_FALSE(auth.verify(std::string(100000, 'a')));
    }
    SECTION("upper-case digest is not the hub's digest") {
        std::string upper = digest;
        for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        if (upper != digest) CHECK_FALSE(auth.verify(nonce + "/" + upper));
    }
    SECTION("another secret") {
        CHECK_FALSE(HubToken("other", {}).verify(token));
    }
    SECTION("any nonce signed with the secret") {
        CHECK(auth.verify("hello/" + HubToken::sign("s3cret", "hello")));
    }
    SECTION("malformed headers") {
        CHECK_FALSE(auth.verify_authorization("Token " + token));
        CHECK_FALSE(auth.verify_authorization(token));
        CHECK_FALSE(auth.verify_authorization(""));
    }
}

TEST_CASE("HubToken accepts configured tokens", "[hub_token]") {
    HubToken auth("", {"first-token", "second"});
    CHECK(auth.verify("first-token"));
    CHECK(auth.verify("second"));
    CHECK_FALSE(auth.verify("first-toke"));
    CHECK_FALSE(auth.verify("first-tokenx"));
    CHECK_FALSE(auth.verify(""));
    // No secret: signed tokens are never valid (an empty key would be guessable).
    CHECK_FALSE(auth.verify("n/" + HubToken::sign("", "n")));
    CHECK_FALSE(HubToken("", {""}).verify(""));
}

TEST_CASE("HubToken constant_time_equal", "[hub_token]") {
    CHECK(HubToken::constant_time_equal("abc", "abc"));
    CHECK_FALSE(HubToken::constant_time_equal("abc", "abd"));
    CHECK_FALSE(HubToken::constant_time_equal("abc", "ab"));
    CHECK(HubToken::constant_time_equal("", ""));
}
