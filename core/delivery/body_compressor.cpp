#include "core/delivery/body_compressor.hpp"

#include <libdeflate.h>

#include <algorithm>
#include <limits>

#include "core/delivery/stored_body.hpp"

namespace lsr::core {

BodyCompressor::BodyCompressor(int level)
    : compressor_(libdeflate_alloc_compressor(std::clamp(level, kMinLevel, kMaxLevel))) {}

BodyCompressor::~BodyCompressor() {
    libdeflate_free_compressor(compressor_);
}

bool BodyCompressor::store(std::string& events, std::string& out) {
    if (compressor_ == nullptr || events.empty() || events.size() > StoredBody::kMaxPlainBytes - 2)
        return false;
    const std::size_t events_size = events.size();
    events.append(StoredBody::kTail);
    const std::size_t bound = libdeflate_deflate_compress_bound(compressor_, events.size());
    if (scratch_.size() < StoredBody::kHeaderBytes + bound) scratch_.resize(StoredBody::kHeaderBytes + bound);
    const std::size_t n = libdeflate_deflate_compress(compressor_, events.data(), events.size(),
                                                      scratch_.data() + StoredBody::kHeaderBytes, bound);
    const auto plain_bytes = static_cast<std::uint32_t>(events.size());
    const std::uint32_t crc = StoredBody::crc32(events);
    events.resize(events_size);
    if (n == 0 || StoredBody::kHeaderBytes + n >= events_size) return false;
    StoredBody::put_header(scratch_.data(), plain_bytes, crc);
    out.assign(scratch_.data(), StoredBody::kHeaderBytes + n);
    return true;
}

}  // namespace lsr::core
