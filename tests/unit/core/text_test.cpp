#include "core/text.hpp"

#include <catch2/catch.hpp>
#include <string>

#include "core/mapping/event_validator.hpp"

using lsr::core::EventValidator;
using lsr::core::json_string;
using lsr::core::valid_utf8_text;

TEST_CASE("json string: escapes and valid UTF-8 kept as they are", "[text]") {
    CHECK(json_string("a\"b\\c\n\r\t") == R"("a\"b\\c\n\r\t")");
    CHECK(json_string(std::string("\x01\x1f", 2)) == R"("\u0001\u001f")");
    CHECK(json_string("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80") ==
          "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
}

TEST_CASE("json string: every invalid byte becomes U+FFFD, so the text is always valid UTF-8", "[text]") {
    const std::string fffd = "\xef\xbf\xbd";
    CHECK(json_string("qu\xff"
                      "ery") == "\"qu" + fffd + "ery\"");
    CHECK(json_string("\xc3") == "\"" + fffd + "\"");                        // cut sequence at the end
    CHECK(json_string("\xc3(") == "\"" + fffd + "(\"");                      // bad continuation
    CHECK(json_string("\xc0\xaf") == "\"" + fffd + fffd + "\"");             // overlong
    CHECK(json_string("\xed\xa0\x80") == "\"" + fffd + fffd + fffd + "\"");  // a surrogate
    CHECK(json_string("\xf4\x90\x80\x80") == "\"" + fffd + fffd + fffd + fffd + "\"");  // above U+10FFFF
    CHECK(json_string("\x80") == "\"" + fffd + "\"");
    // Whatever the bytes, the output is valid UTF-8.
    std::string all;
    for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
    for (int i = 255; i >= 0; --i) all += static_cast<char>(i);
    CHECK(EventValidator::valid_utf8(json_string(all)));
    CHECK(EventValidator::valid_utf8(valid_utf8_text(all)));
    CHECK(valid_utf8_text("ok \xc3\xa9") == "ok \xc3\xa9");
    CHECK(valid_utf8_text("a\xfe") == "a" + fffd);
}

TEST_CASE("json value kind names the first byte", "[text]") {
    CHECK(lsr::core::json_value_kind('{') == "an object");
    CHECK(lsr::core::json_value_kind('"') == "a string");
    CHECK(lsr::core::json_value_kind('5') == "a number");
    CHECK(lsr::core::json_value_kind('-') == "a number");
    CHECK(lsr::core::json_value_kind('t') == "a boolean");
    CHECK(lsr::core::json_value_kind('n') == "null");
}

TEST_CASE("parse_positive_int takes decimal digits only, 1 up to 18 digits", "[text]") {
    CHECK(lsr::core::parse_positive_int("7") == 7);
    CHECK(lsr::core::parse_positive_int("999999999999999999") == 999999999999999999);
    for (const char* bad : {"", "0", "-1", "+1", " 1", "1 ", "1e3", "abc", "1234567890123456789"}) {
        INFO(bad);
        CHECK_FALSE(lsr::core::parse_positive_int(bad));
    }
}
