// The form a batch body has in the spool (docs/ARCHITECTURE.md "Batch body format").
//
// Plain: the events joined by ",\n" (every event is a JSON object, so it starts with '{').
// Compressed: a marker byte that cannot start an event, then two little-endian u32 fields,
// then a raw deflate stream (its last block final):
//   0x01 | plain_bytes | crc32 | deflate(<events>]})
// where the compressed plain text is the events followed by "]}", the end of the /v1/batch
// envelope, so the wire's gzip member can carry the stream as is after a per-attempt prefix
// (GzipEnvelope). plain_bytes and crc32 (zlib's CRC-32) are those of that plain text.
// Pure: no I/O; the bytes come from the spool and are checked before use.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace lsr::core {

class StoredBody {
  public:
    static constexpr unsigned char kMarker = 0x01;
    static constexpr std::size_t kHeaderBytes = 9;
    static constexpr std::string_view kTail = "]}";  // compressed after the events
    // A batch is at most 500 KB of JSON; a larger claimed size is a damaged header.
    static constexpr std::uint32_t kMaxPlainBytes = 16u << 20;

    struct View {
        bool compressed = false;
        std::string_view plain;         // plain form: the events
        std::uint32_t plain_bytes = 0;  // compressed form: size of <events>]}
        std::uint32_t crc = 0;          // compressed form: CRC-32 of <events>]}
        std::string_view deflated;      // compressed form: the raw deflate stream
    };

    static bool compressed(std::string_view stored) {
        return !stored.empty() && static_cast<unsigned char>(stored.front()) == kMarker;
    }
    // Reads the form and the header (no inflating). False with `error` when the bytes are
    // neither form (unknown first byte, short header, impossible sizes).
    static bool inspect(std::string_view stored, View& out, std::string& error);
    // The events of a stored body (inflated and checked against the stored size and CRC when
    // compressed). False with `error` on any damage.
    static bool decode(std::string_view stored, std::string& events, std::string& error);
    // Whether a stored body can be sent as it is: a compressed one inflates and matches its
    // size and CRC; a plain one is events that are each a whole JSON object. For bodies read
    // from a damaged file (salvage), where a row can come back with a zero-filled tail.
    static bool intact(std::string_view stored, std::string& error);
    // The compressed form's header (marker, sizes) for a plain text of `plain_bytes`.
    static void put_header(char* out, std::uint32_t plain_bytes, std::uint32_t crc);
    static std::uint32_t crc32(std::string_view bytes, std::uint32_t crc = 0);
};

}  // namespace lsr::core
