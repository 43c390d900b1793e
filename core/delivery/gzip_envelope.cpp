#include "core/delivery/gzip_envelope.hpp"

#include <zlib.h>

#include <algorithm>
#include <cstdint>

namespace lsr::core {
namespace {

// ID1 ID2 CM=deflate FLG=0 MTIME=0 XFL=0 OS=255 (unknown).
constexpr unsigned char kHeader[10] = {0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0xff};
constexpr std::size_t kMaxStored = 65535;  // LEN of one stored block

void put_u16(std::string& out, std::uint16_t v) {
    out.push_back(static_cast<char>(v & 0xff));
    out.push_back(static_cast<char>(v >> 8));
}

void put_u32(std::string& out, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

}  // namespace

void GzipEnvelope::assemble(std::string_view prefix, const StoredBody::View& body, std::string& out) {
    const std::size_t blocks = (prefix.size() + kMaxStored - 1) / kMaxStored;
    out.clear();
    out.reserve(sizeof kHeader + blocks * 5 + prefix.size() + body.deflated.size() + 8);
    out.append(reinterpret_cast<const char*>(kHeader), sizeof kHeader);
    for (std::size_t at = 0; at < prefix.size(); at += kMaxStored) {
        const std::size_t n = std::min(kMaxStored, prefix.size() - at);
        out.push_back('\0');  // BFINAL=0, BTYPE=00 (stored); the rest of the byte pads to a boundary
        put_u16(out, static_cast<std::uint16_t>(n));
        put_u16(out, static_cast<std::uint16_t>(~n & 0xffff));
        out.append(prefix.substr(at, n));
    }
    out.append(body.deflated);  // starts on a byte boundary, ends with the final block
    const uLong prefix_crc =
        ::crc32(0L, reinterpret_cast<const Bytef*>(prefix.data()), static_cast<uInt>(prefix.size()));
    const uLong crc = ::crc32_combine(prefix_crc, body.crc, static_cast<z_off_t>(body.plain_bytes));
    put_u32(out, static_cast<std::uint32_t>(crc));
    put_u32(out, static_cast<std::uint32_t>((prefix.size() + body.plain_bytes) & 0xffffffffu));
}

}  // namespace lsr::core
