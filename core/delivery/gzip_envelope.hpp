// The gzip member sent to /v1/batch for a body stored compressed, assembled without
// compressing anything: the per-attempt envelope start (BatchEnvelope::prefix, with a fresh
// sentAt) goes in non-final *stored* deflate blocks, followed by the body's stored raw
// deflate stream (whose last block is final), so the member inflates to
//   <prefix><events>]}
// The trailer's CRC-32 combines the prefix's with the stored one (zlib's crc32_combine);
// ISIZE is the total plain length mod 2^32.
#pragma once

#include <string>
#include <string_view>

#include "core/delivery/stored_body.hpp"

namespace lsr::core {

class GzipEnvelope {
  public:
    // `body` is a compressed StoredBody::View (inspect() accepted it).
    static void assemble(std::string_view prefix, const StoredBody::View& body, std::string& out);
};

}  // namespace lsr::core
