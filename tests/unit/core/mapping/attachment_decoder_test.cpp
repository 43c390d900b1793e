#include "core/mapping/attachment_decoder.hpp"

#include <rapidjson/document.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <string>

using lsr::core::AttachmentDecoder;
using Kind = lsr::core::AttachmentInfo::Kind;

namespace {

std::string decode(const std::string& raw, Kind kind, bool base64, std::size_t chunk, bool* ok = nullptr) {
    AttachmentDecoder dec(kind, base64);
    std::string out;
    bool good = true;
    for (std::size_t i = 0; i < raw.size() && good; i += chunk)
        good = !dec.feed(std::string_view(raw).substr(i, chunk), out);
    if (good) good = !dec.finish(out);
    if (ok) *ok = good;
    return out;
}

}  // namespace

TEST_CASE("attachment: JSON string unescape at every split point", "[decoder]") {
    const std::string raw = R"("a\"b\\c\/d\b\f\n\r\t \u00e9 \u20AC \ud83d\ude00 end")";
    const std::string expected = "a\"b\\c/d\b\f\n\r\t \xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 end";
    for (std::size_t chunk = 1; chunk <= raw.size(); ++chunk) {
        bool ok = false;
        CHECK(decode(raw, Kind::string, false, chunk, &ok) == expected);
        CHECK(ok);
    }
}

TEST_CASE("attachment: lone surrogates become U+FFFD", "[decoder]") {
    CHECK(decode(R"("x\ud800y")", Kind::string, false, 1) == "x\xEF\xBF\xBDy");
    CHECK(decode(R"("\udc00")", Kind::string, false, 2) == "\xEF\xBF\xBD");
    CHECK(decode(R"("\ud800\ud800\udc00")", Kind::string, false, 3) == "\xEF\xBF\xBD\xF0\x90\x80\x80");
}

TEST_CASE("attachment: invalid strings are errors", "[decoder]") {
    for (const char* raw : {R"("\x")", R"("\u12g4")", "\"a", "x\"a\"", "\"a\"b", "\"a\nb\""}) {
        bool ok = true;
        decode(raw, Kind::string, false, 1, &ok);
        INFO(raw);
        CHECK_FALSE(ok);
    }
}

TEST_CASE("attachment: base64 inside a JSON string, padded, unpadded, escaped slash", "[decoder]") {
    for (std::size_t chunk = 1; chunk < 8; ++chunk) {
        CHECK(decode(R"("aGVsbG8gd29ybGQ=")", Kind::string, true, chunk) == "hello world");
        CHECK(decode(R"("aGVsbG8gd29ybA==")", Kind::string, true, chunk) == "hello worl");
        CHECK(decode(R"("aGVsbG8gd29ybA")", Kind::string, true, chunk) == "hello worl");
        CHECK(decode(R"("P\/8=")", Kind::string, true, chunk) == "?\xFF");
        CHECK(decode(R"("aGVs\nbG8=")", Kind::string, true, chunk) == "hello");
    }
    bool ok = true;
    decode(R"("a$==")", Kind::string, true, 1, &ok);
    CHECK_FALSE(ok);
    decode(R"("a")", Kind::string, true, 1, &ok);
    CHECK_FALSE(ok);
}

TEST_CASE("attachment: objects and arrays pass through", "[decoder]") {
    CHECK(decode(R"({"data":[1]})", Kind::object, true, 3) == R"({"data":[1]})");
    CHECK(decode(R"([{"a":1}])", Kind::array, false, 1) == R"([{"a":1}])");
}

namespace {

// A JSON string literal of random plain runs (short and long), one-character escapes and
// \u escapes (BMP and surrogate pairs), as Looker escapes a result document.
std::string random_literal(std::uint32_t seed, std::size_t pieces) {
    std::uint32_t x = seed * 2654435761u + 1;
    auto next = [&x] {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        return x;
    };
    static const char* escapes[] = {
        "\\\"",    "\\\\",           "\\/",    "\\b", "\\f", "\\n", "\\r", "\\t", "\\u00e9",
        "\\u20AC", "\\ud83d\\ude00", "\\u0041"};
    std::string s = "\"";
    for (std::size_t k = 0; k < pieces; ++k) {
        const auto r = next();
        if (r % 3 == 0) {
            s += escapes[(r >> 8) % (sizeof escapes / sizeof escapes[0])];
        } else {
            const std::size_t len = (r >> 4) % (r % 5 == 0 ? 70 : 12);
            for (std::size_t i = 0; i < len; ++i) {
                const char c = static_cast<char>('!' + next() % 90);  // printable, no space
                s += (c == '\\' || c == '"') ? 'x' : c;
            }
        }
    }
    return s + "\"";
}

}  // namespace

TEST_CASE("attachment: bulk runs decode as RapidJSON does, at every chunk size", "[decoder]") {
    for (std::uint32_t seed = 1; seed <= 40; ++seed) {
        const std::string raw = random_literal(seed, 300);
        rapidjson::Document doc;
        doc.Parse(raw.data(), raw.size());
        REQUIRE_FALSE(doc.HasParseError());
        const std::string expected(doc.GetString(), doc.GetStringLength());
        for (std::size_t chunk :
             {std::size_t{1}, std::size_t{2}, std::size_t{3}, std::size_t{7}, std::size_t{15},
              std::size_t{16}, std::size_t{17}, std::size_t{100}, raw.size()}) {
            bool ok = false;
            INFO("seed " << seed << " chunk " << chunk);
            CHECK(decode(raw, Kind::string, false, chunk, &ok) == expected);
            CHECK(ok);
        }
    }
}

TEST_CASE("attachment: a long plain run crosses the decoder's internal window", "[decoder]") {
    std::string text;
    for (int i = 0; i < 20000; ++i) text += static_cast<char>('a' + i % 26);
    text[9000] = '\t';  // a raw control byte inside is still refused, wherever it lies
    bool ok = true;
    decode("\"" + text + "\"", Kind::string, false, 1 << 20, &ok);
    CHECK_FALSE(ok);
    text[9000] = 'q';
    CHECK(decode("\"" + text + "\\n\"", Kind::string, false, 1 << 20, &ok) == text + "\n");
    CHECK(ok);
    CHECK(decode("\"" + text + "\"", Kind::string, false, 4095, &ok) == text);
    CHECK(ok);
}

TEST_CASE("attachment: back-to-back escapes at every offset of a block", "[decoder]") {
    for (std::size_t lead = 0; lead < 20; ++lead) {
        const std::string plain(lead, 'p');
        std::string raw = "\"" + plain;
        std::string expected = plain;
        for (int k = 0; k < 50; ++k) {
            raw += k % 3 == 0 ? "\\\\" : (k % 3 == 1 ? "\\\"" : "\\n");
            expected += k % 3 == 0 ? '\\' : (k % 3 == 1 ? '"' : '\n');
        }
        raw += "tail\"";
        expected += "tail";
        for (std::size_t chunk : {std::size_t{1}, std::size_t{31}, raw.size()}) {
            bool ok = false;
            INFO("lead " << lead << " chunk " << chunk);
            CHECK(decode(raw, Kind::string, false, chunk, &ok) == expected);
            CHECK(ok);
        }
    }
}
