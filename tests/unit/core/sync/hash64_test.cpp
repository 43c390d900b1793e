#include "core/sync/hash64.hpp"

#include <catch2/catch.hpp>
#include <set>
#include <string>

using lsr::core::Hash64;

// Stored on disk in every baseline: these values must never change. They were checked
// against an independent implementation of the same definition.
TEST_CASE("hash64: known answers", "[sync][hash64]") {
    struct Case {
        std::string input;
        std::uint64_t expected;
    };
    const Case cases[] = {
        {"", 0x6481a47007f36e22ull},
        {"a", 0xc67e8b79f0d11ab1ull},
        {"abc", 0xe91cb2508427a2dcull},
        {"abcdefgh", 0xa944cc1244016b39ull},
        {"abcdefghi", 0xa9a23563d5314b49ull},
        {"u:user-1", 0xc394f4303d985093ull},
        {"The quick brown fox jumps over the lazy dog", 0x473ccfb0d3a83911ull},
        {std::string(1, '\0'), 0xc69d378925868646ull},
        {std::string(2, '\0'), 0x32b4b75f0d363758ull},
    };
    for (const Case& c : cases) {
        INFO(c.input);
        CHECK(Hash64::of(c.input) == c.expected);
    }
}

TEST_CASE("hash64: the result does not depend on how the input is split", "[sync][hash64]") {
    std::string text;
    for (int i = 0; i < 300; ++i) text.push_back(static_cast<char>('a' + (i * 7) % 26));
    const std::uint64_t whole = Hash64::of(text);
    for (std::size_t chunk : {1u, 2u, 3u, 5u, 7u, 8u, 9u, 13u, 64u, 299u}) {
        Hash64 h;
        for (std::size_t i = 0; i < text.size(); i += chunk)
            h.update(std::string_view(text).substr(i, chunk));
        INFO(chunk);
        CHECK(h.digest() == whole);
    }
    Hash64 h;
    h.update("abc");
    CHECK(h.digest() == h.digest());  // digest() does not consume
    h.update("");
    CHECK(h.digest() == Hash64::of("abc"));
}

TEST_CASE("hash64: length and every byte count", "[sync][hash64]") {
    std::set<std::uint64_t> seen;
    seen.insert(Hash64::of(""));
    std::string s;
    for (int n = 1; n <= 24; ++n) {  // zero bytes of every length differ
        s.push_back('\0');
        CHECK(seen.insert(Hash64::of(s)).second);
    }
    const std::string base = "u:0123456789abcdef0123456789";
    seen.clear();
    for (std::size_t i = 0; i < base.size(); ++i)
        for (int bit = 0; bit < 8; ++bit) {
            std::string t = base;
            t[i] = static_cast<char>(t[i] ^ (1 << bit));
            CHECK(seen.insert(Hash64::of(t)).second);
        }
    CHECK(seen.count(Hash64::of(base)) == 0);
}
