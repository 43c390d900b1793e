// Batch bodies stored compressed (core::StoredBody, BodyCompressor) and the gzip member sent
// for them without compressing again (core::GzipEnvelope).
#include "core/delivery/stored_body.hpp"

#include <zlib.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <string>

#include "core/delivery/batch_envelope.hpp"
#include "core/delivery/body_compressor.hpp"
#include "core/delivery/gzip_envelope.hpp"

using lsr::core::BatchEnvelope;
using lsr::core::BodyCompressor;
using lsr::core::GzipEnvelope;
using lsr::core::StoredBody;

namespace {

std::string events_of(int n) {
    std::string body;
    for (int i = 0; i < n; ++i) {
        if (i > 0) body += ",\n";
        body += R"({"type":"identify","userId":"u)" + std::to_string(i) +
                R"(","traits":{"plan":"pro","ü":"\u00e9"},"messageId":"m-)" + std::to_string(i * 7919) +
                R"("})";
    }
    return body;
}

std::string stored_of(const std::string& events, int level = 1) {
    std::string work = events;
    std::string out;
    BodyCompressor c(level);
    REQUIRE(c.store(work, out));
    CHECK(work == events);  // handed back unchanged
    return out;
}

// Inflates a gzip member with zlib (windowBits 31: gzip wrapper, header and trailer checked).
bool zlib_gunzip(const std::string& in, std::string& out) {
    z_stream zs{};
    if (inflateInit2(&zs, 31) != Z_OK) return false;
    out.clear();
    char buf[16384];
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    zs.avail_in = static_cast<uInt>(in.size());
    int rc = Z_OK;
    while (rc == Z_OK) {
        zs.next_out = reinterpret_cast<Bytef*>(buf);
        zs.avail_out = sizeof buf;
        rc = inflate(&zs, Z_NO_FLUSH);
        out.append(buf, sizeof buf - zs.avail_out);
    }
    const bool whole = rc == Z_STREAM_END && zs.avail_in == 0;
    inflateEnd(&zs);
    return whole;
}

}  // namespace

TEST_CASE("StoredBody: a compressed body decodes to its events, at every level", "[stored_body]") {
    const std::string events = events_of(400);
    for (int level : {1, 6, 12}) {
        INFO(level);
        const std::string stored = stored_of(events, level);
        CHECK(StoredBody::compressed(stored));
        CHECK(stored.size() < events.size() / 3);
        StoredBody::View v;
        std::string error;
        REQUIRE(StoredBody::inspect(stored, v, error));
        CHECK(v.compressed);
        CHECK(v.plain_bytes == events.size() + 2);
        CHECK(v.crc == StoredBody::crc32(events + "]}"));
        std::string back;
        REQUIRE(StoredBody::decode(stored, back, error));
        CHECK(back == events);
    }
}

TEST_CASE("StoredBody: a plain body (every body a version-1 spool holds) reads as it is", "[stored_body]") {
    const std::string events = events_of(3);
    StoredBody::View v;
    std::string error;
    REQUIRE(StoredBody::inspect(events, v, error));
    CHECK_FALSE(v.compressed);
    CHECK(v.plain == events);
    std::string back;
    REQUIRE(StoredBody::decode(events, back, error));
    CHECK(back == events);
    REQUIRE(StoredBody::decode("", back, error));
    CHECK(back.empty());
}

TEST_CASE("StoredBody: a body that does not shrink is not stored compressed", "[stored_body]") {
    BodyCompressor c(1);
    std::string tiny = R"({"a":1})";
    std::string out = "untouched";
    CHECK_FALSE(c.store(tiny, out));
    CHECK(out == "untouched");
    CHECK(tiny == R"({"a":1})");
    std::string empty;
    CHECK_FALSE(c.store(empty, out));
}

TEST_CASE("StoredBody: damage is named, never decoded into garbage", "[stored_body]") {
    const std::string events = events_of(200);
    const std::string stored = stored_of(events);
    std::string back = "x";
    std::string error;
    SECTION("unknown first byte") {
        std::string bad = stored;
        bad[0] = '\x02';
        CHECK_FALSE(StoredBody::decode(bad, back, error));
        CHECK(error == "not a stored batch body (first byte 0x02)");
    }
    SECTION("short header") {
        CHECK_FALSE(StoredBody::decode(stored.substr(0, 5), back, error));
        CHECK(error.find("too short") != std::string::npos);
        CHECK_FALSE(StoredBody::decode(stored.substr(0, StoredBody::kHeaderBytes), back, error));
    }
    SECTION("impossible size") {
        std::string bad = stored;
        bad[4] = '\x7f';  // plain_bytes far beyond kMaxPlainBytes
        CHECK_FALSE(StoredBody::decode(bad, back, error));
        CHECK(error.find("impossible size") != std::string::npos);
    }
    SECTION("stored size differs from the inflated one") {
        std::string bad = stored;
        bad[1] = static_cast<char>(bad[1] + 1);
        CHECK_FALSE(StoredBody::decode(bad, back, error));
        CHECK(error.find("stored") != std::string::npos);
        CHECK(back.empty());
    }
    SECTION("CRC mismatch") {
        std::string bad = stored;
        bad[6] = static_cast<char>(bad[6] ^ 0x10);
        CHECK_FALSE(StoredBody::decode(bad, back, error));
        CHECK(error == "stored batch body fails its CRC-32 check");
        CHECK(back.empty());
    }
    SECTION("damaged deflate stream") {
        std::string bad = stored;
        for (std::size_t i = StoredBody::kHeaderBytes + 20; i < StoredBody::kHeaderBytes + 60; ++i)
            bad[i] = '\xff';
        CHECK_FALSE(StoredBody::decode(bad, back, error));
        CHECK_FALSE(error.empty());
        CHECK(back.empty());
    }
    SECTION("truncated deflate stream") {
        CHECK_FALSE(StoredBody::decode(stored.substr(0, stored.size() - 10), back, error));
        CHECK_FALSE(error.empty());
    }
}

TEST_CASE("GzipEnvelope: the assembled member inflates to the plain envelope byte for byte",
          "[stored_body]") {
    const std::string events = events_of(1500);
    const std::string stored = stored_of(events);
    StoredBody::View v;
    std::string error;
    REQUIRE(StoredBody::inspect(stored, v, error));
    for (const std::string& key : {std::string("wk_test"), std::string("k\"q\\"), std::string(70'000, 'k')}) {
        INFO(key.size());
        const std::string sent_at = "2026-12-05T14:47:26.123Z";
        std::string wire;
        GzipEnvelope::assemble(BatchEnvelope::prefix(sent_at, key), v, wire);
        std::string plain;
        REQUIRE(zlib_gunzip(wire, plain));
        CHECK(plain == BatchEnvelope::build(events, sent_at, key));
        CHECK(wire.size() < stored.size() + key.size() + 100);
    }
}

TEST_CASE("GzipEnvelope: a damaged stored stream fails the receiver's gzip check", "[stored_body]") {
    const std::string events = events_of(100);
    std::string stored = stored_of(events);
    stored[7] = static_cast<char>(stored[7] ^ 1);  // the stored CRC
    StoredBody::View v;
    std::string error;
    REQUIRE(StoredBody::inspect(stored, v, error));
    std::string wire;
    GzipEnvelope::assemble(BatchEnvelope::prefix("T", "k"), v, wire);
    std::string plain;
    CHECK_FALSE(zlib_gunzip(wire, plain));
}

TEST_CASE("StoredBody: intact tells a sendable body from one with a damaged tail", "[stored_body]") {
    std::string why;
    const std::string plain =
        "{\"type\":\"identify\",\"userId\":\"u1\"},\n{\"type\":\"identify\",\"userId\":\"u2\"}";
    CHECK(StoredBody::intact(plain, why));
    // A row read past the end of a truncated file: its last bytes come back as zeros.
    std::string zero_tail = plain;
    std::fill(zero_tail.end() - 12, zero_tail.end(), '\0');
    CHECK_FALSE(StoredBody::intact(zero_tail, why));
    CHECK(why.find("not JSON") != std::string::npos);
    CHECK_FALSE(StoredBody::intact("{\"a\":1},\n2", why));
    CHECK(why.find("not an event object") != std::string::npos);
    CHECK_FALSE(StoredBody::intact("", why));

    std::string events = plain;
    std::string stored;
    BodyCompressor compressor(1);
    if (compressor.store(events, stored)) {  // tiny bodies may not shrink: then it stays plain
        CHECK(StoredBody::intact(stored, why));
        stored[stored.size() - 1] = static_cast<char>(stored.back() ^ 0x21);
        CHECK_FALSE(StoredBody::intact(stored, why));
    }
    std::string big;
    for (int i = 0; i < 2000; ++i)
        big += (i ? ",\n" : "") + std::string("{\"type\":\"identify\",\"userId\":\"u\"}");
    std::string big_stored;
    REQUIRE(compressor.store(big, big_stored));
    CHECK(StoredBody::intact(big_stored, why));
    big_stored[StoredBody::kHeaderBytes + 3] =
        static_cast<char>(big_stored[StoredBody::kHeaderBytes + 3] ^ 0x40);
    CHECK_FALSE(StoredBody::intact(big_stored, why));
}
