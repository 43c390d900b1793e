// Deflates batch bodies into their compressed stored form (StoredBody), once, when they are
// spooled. Holds one libdeflate compressor and a reused output buffer: one per thread (an
// execute's committer), never shared.
#pragma once

#include <string>

struct libdeflate_compressor;

namespace lsr::core {

class BodyCompressor {
  public:
    static constexpr int kMinLevel = 1;
    static constexpr int kMaxLevel = 12;

    // `level` 1..12 (libdeflate's levels; a value outside is clamped).
    explicit BodyCompressor(int level);
    ~BodyCompressor();
    BodyCompressor(const BodyCompressor&) = delete;
    BodyCompressor& operator=(const BodyCompressor&) = delete;

    // `out` = the compressed stored form of the events in `events` (non-empty, events joined
    // by ",\n"). `events` is used as the work area for "<events>]}" and handed back
    // unchanged. False (out untouched) when compressing did not make it smaller or no
    // compressor could be allocated: store the plain events then.
    bool store(std::string& events, std::string& out);

  private:
    libdeflate_compressor* compressor_ = nullptr;
    std::string scratch_;
};

}  // namespace lsr::core
