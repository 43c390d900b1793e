#include "core/json_out.hpp"

#include <catch2/catch.hpp>

#include "core/mapping/event_validator.hpp"

using lsr::core::EventValidator;
using lsr::core::JsonOut;

namespace {

std::string write(const char* json, bool exact, bool js_order = false) {
    rapidjson::Document d;
    d.Parse(json);
    std::string out;
    JsonOut(out).value(d, exact, js_order);
    return out;
}

}  // namespace

TEST_CASE("json out: numbers as JavaScript writes them", "[json]") {
    CHECK(write("1.0", false) == "1");
    CHECK(write("2.50", false) == "2.5");
    CHECK(write("1e21", false) == "1e+21");
    CHECK(write("1.5e300", false) == "1.5e+300");
    CHECK(write("1e-7", false) == "1e-7");
    CHECK(write("0.000001", false) == "0.000001");
    CHECK(write("-0", false) == "0");
    CHECK(write("-0.0", false) == "0");
    CHECK(write("123456789012", false) == "123456789012");
    CHECK(write("12345678901234567890", false) == "12345678901234567000");  // rounded like JavaScript
    CHECK(write("12345678901234567890", true) == "12345678901234567890");   // standard mode keeps digits
    CHECK(write("-9223372036854775808", true) == "-9223372036854775808");
    CHECK(write("0.1", false) == "0.1");
    CHECK(write("-1234.5678", false) == "-1234.5678");
    CHECK(write("123e-20", false) == "1.23e-18");
    CHECK(write("100", false) == "100");
    CHECK(write("1e20", false) == "100000000000000000000");
    CHECK(write("5e-324", false) == "5e-324");
    CHECK(write("0.30000000000000004", false) == "0.30000000000000004");  // 17 digits
    CHECK(write("-1.2345678901234567e-10", false) == "-1.2345678901234568e-10");
    CHECK(write("1234.5678901234567", false) == "1234.567890123457");  // shortest that reads back
}

TEST_CASE("json out: strings are escaped minimally, UTF-8 passes", "[json]") {
    std::string out;
    JsonOut(out).string("a\"b\\c\n\t\x01 \xC3\xA9/");
    CHECK(out == "\"a\\\"b\\\\c\\n\\t\\u0001 \xC3\xA9/\"");
    out.clear();
    JsonOut(out).string(std::string(40, 'x') + "\"" + std::string(40, 'y'));
    CHECK(out == "\"" + std::string(40, 'x') + "\\\"" + std::string(40, 'y') + "\"");
}

TEST_CASE("json out: JavaScript key order puts integer-like keys first", "[json]") {
    CHECK(write(R"({"b":1,"10":2,"a":3,"2":4,"02":5})", false, true) ==
          R"({"2":4,"10":2,"b":1,"a":3,"02":5})");
    CHECK(write(R"({"b":1,"10":2})", false, false) == R"({"b":1,"10":2})");
}

TEST_CASE("event validator: UTF-8, size and messageId", "[json]") {
    CHECK(EventValidator::valid_utf8("plain ascii, long enough for the word loop"));
    CHECK(EventValidator::valid_utf8("\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80"));
    CHECK_FALSE(EventValidator::valid_utf8("\xC0\xAF"));          // overlong
    CHECK_FALSE(EventValidator::valid_utf8("\xED\xA0\x80"));      // a surrogate
    CHECK_FALSE(EventValidator::valid_utf8("\xF4\x90\x80\x80"));  // above U+10FFFF
    CHECK_FALSE(EventValidator::valid_utf8("abc\xE2\x82"));       // cut short
    CHECK_FALSE(EventValidator::valid_utf8("\xff"));
    EventValidator v(10);
    CHECK_FALSE(v.check("{\"a\":1}", "id"));
    CHECK(v.check("{\"a\":12345}", "id") == "event is 11 bytes, above Segment's limit of 10");
    CHECK(EventValidator(1000).check("{}", std::string(101, 'm')) == "messageId longer than 100 characters");
}

TEST_CASE("json out: null, booleans and string arrays", "[json]") {
    std::string out;
    JsonOut w(out);
    w.raw('[');
    w.null();
    w.raw(',');
    w.boolean(true);
    w.raw(',');
    w.boolean(false);
    w.raw(',');
    w.string_array({"a", "b\"c"});
    w.raw(',');
    w.string_array({});
    w.raw(']');
    CHECK(out == "[null,true,false,[\"a\",\"b\\\"c\"],[]]");
}
