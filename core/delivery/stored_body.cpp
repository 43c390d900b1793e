#include "core/delivery/stored_body.hpp"

#include <libdeflate.h>
#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <cstdio>
#include <memory>

namespace lsr::core {
namespace {

std::uint32_t get_u32(const char* p) {
    const auto* b = reinterpret_cast<const unsigned char*>(p);
    return static_cast<std::uint32_t>(b[0]) | (static_cast<std::uint32_t>(b[1]) << 8) |
           (static_cast<std::uint32_t>(b[2]) << 16) | (static_cast<std::uint32_t>(b[3]) << 24);
}

void put_u32(char* p, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

struct FreeDecompressor {
    void operator()(libdeflate_decompressor* d) const { libdeflate_free_decompressor(d); }
};

}  // namespace

std::uint32_t StoredBody::crc32(std::string_view bytes, std::uint32_t crc) {
    return libdeflate_crc32(crc, bytes.data(), bytes.size());
}

void StoredBody::put_header(char* out, std::uint32_t plain_bytes, std::uint32_t crc) {
    out[0] = static_cast<char>(kMarker);
    put_u32(out + 1, plain_bytes);
    put_u32(out + 5, crc);
}

bool StoredBody::inspect(std::string_view stored, View& out, std::string& error) {
    out = View{};
    if (stored.empty() || stored.front() == '{') {
        out.plain = stored;
        return true;
    }
    if (!compressed(stored)) {
        char first[8];
        std::snprintf(first, sizeof first, "0x%02x",
                      static_cast<unsigned>(static_cast<unsigned char>(stored[0])));
        error = std::string("not a stored batch body (first byte ") + first + ")";
        return false;
    }
    if (stored.size() <= kHeaderBytes) {
        error = "stored batch body too short for its header (" + std::to_string(stored.size()) + " bytes)";
        return false;
    }
    out.compressed = true;
    out.plain_bytes = get_u32(stored.data() + 1);
    out.crc = get_u32(stored.data() + 5);
    out.deflated = stored.substr(kHeaderBytes);
    // Deflate expands at most ~1032:1 (258-byte matches in under two bits each).
    const std::uint64_t most = static_cast<std::uint64_t>(out.deflated.size()) * 1032 + 1024;
    if (out.plain_bytes < kTail.size() || out.plain_bytes > kMaxPlainBytes || out.plain_bytes > most) {
        error = "stored batch body claims an impossible size (" + std::to_string(out.plain_bytes) + " bytes)";
        return false;
    }
    return true;
}

bool StoredBody::decode(std::string_view stored, std::string& events, std::string& error) {
    View v;
    if (!inspect(stored, v, error)) return false;
    if (!v.compressed) {
        events.assign(v.plain);
        return true;
    }
    std::unique_ptr<libdeflate_decompressor, FreeDecompressor> d(libdeflate_alloc_decompressor());
    if (!d) {
        error = "out of memory for a decompressor";
        return false;
    }
    events.resize(v.plain_bytes);
    std::size_t in_used = 0;
    std::size_t produced = 0;
    const libdeflate_result rc = libdeflate_deflate_decompress_ex(
        d.get(), v.deflated.data(), v.deflated.size(), events.data(), events.size(), &in_used, &produced);
    if (rc != LIBDEFLATE_SUCCESS) {
        events.clear();
        error = rc == LIBDEFLATE_INSUFFICIENT_SPACE
                    ? "stored batch body inflates beyond its stored size"
                    : "stored batch body does not inflate (damaged deflate stream)";
        return false;
    }
    if (produced != v.plain_bytes || in_used != v.deflated.size()) {
        events.clear();
        error = "stored batch body inflates to " + std::to_string(produced) + " bytes, not its stored " +
                std::to_string(v.plain_bytes);
        return false;
    }
    if (crc32(events) != v.crc) {
        events.clear();
        error = "stored batch body fails its CRC-32 check";
        return false;
    }
    if (std::string_view(events).substr(events.size() - kTail.size()) != kTail) {
        events.clear();
        error = "stored batch body does not end the envelope";
        return false;
    }
    events.resize(events.size() - kTail.size());
    return true;
}

bool StoredBody::intact(std::string_view stored, std::string& error) {
    std::string events;
    if (!decode(stored, events, error)) return false;
    if (events.empty()) {
        error = "empty batch body";
        return false;
    }
    // The events joined by ",\n" are the elements of a JSON array.
    std::string array;
    array.reserve(events.size() + 2);
    array += '[';
    array += events;
    array += ']';
    rapidjson::Document doc;
    doc.Parse(array.data(), array.size());
    if (doc.HasParseError()) {
        error = std::string("batch body is not JSON: ") + rapidjson::GetParseError_En(doc.GetParseError()) +
                " at byte " + std::to_string(doc.GetErrorOffset() > 0 ? doc.GetErrorOffset() - 1 : 0);
        return false;
    }
    for (const auto& event : doc.GetArray()) {
        if (!event.IsObject()) {
            error = "batch body holds an element that is not an event object";
            return false;
        }
    }
    return true;
}

}  // namespace lsr::core
