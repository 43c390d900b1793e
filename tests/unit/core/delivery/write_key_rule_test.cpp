#include "core/delivery/write_key_rule.hpp"

#include <catch2/catch.hpp>
#include <string>

using lsr::core::WriteKeyRule;

TEST_CASE("write key rule: Segment-shaped keys pass", "[write_key]") {
    CHECK_FALSE(WriteKeyRule::problem("wk_123"));
    CHECK_FALSE(WriteKeyRule::problem("aBcD1234eFgH5678iJkL9012mNoP3456"));
    CHECK_FALSE(WriteKeyRule::problem("key-with.punctuation:and/slash+="));
    CHECK_FALSE(WriteKeyRule::problem(std::string(WriteKeyRule::kMaxBytes, 'k')));
}

TEST_CASE("write key rule: keys Segment could not accept are refused with a reason", "[write_key]") {
    CHECK(WriteKeyRule::problem("") == "The Segment write key is empty.");
    // The size that made the sender abort while building its Basic-auth header.
    CHECK(WriteKeyRule::problem(std::string(49'200, 'k')) ==
          "The Segment write key is 49200 bytes long; a write key has at most 1024.");
    CHECK(WriteKeyRule::problem(std::string(WriteKeyRule::kMaxBytes + 1, 'k')));
    CHECK(WriteKeyRule::problem("wk 1") == "The Segment write key contains whitespace (at byte 3).");
    CHECK(WriteKeyRule::problem("wk\t1"));
    CHECK(WriteKeyRule::problem(" wk"));
    CHECK(WriteKeyRule::problem("wk\n"));
    CHECK(WriteKeyRule::problem("wk\r\nX-Injected: 1"));
    CHECK(WriteKeyRule::problem(std::string("wk\0x", 4)) ==
          "The Segment write key contains a control character (at byte 3).");
    CHECK(WriteKeyRule::problem("wk\x7f"));
    CHECK(WriteKeyRule::problem("cl\xc3\xa9") ==
          "The Segment write key contains a non-ASCII byte (at byte 3).");
    CHECK(WriteKeyRule::problem("wk\xff"));
}

TEST_CASE("write key rule: the reason never quotes the key", "[write_key]") {
    const std::string secret = "s3cr3t-value with space";
    const auto problem = WriteKeyRule::problem(secret);
    REQUIRE(problem);
    CHECK(problem->find("s3cr3t") == std::string::npos);
}
