// A streaming 64-bit non-cryptographic hash, the relay's own, for the cohort-sync
// baseline: identities and event contents are stored as these hashes, so the function is
// fixed forever (changing it would make every stored member look new and changed). Pinned
// by known-answer tests.
//
// Word-at-a-time FNV-1a style: each 8-byte little-endian word is spread with an odd
// multiply and an xorshift, xored into the state, and the state multiplied and folded; the
// total length and the last partial word go in at the end, then a splitmix64 finalizer.
// Within one block position the step is a bijection of the word, so two inputs of equal
// length that differ in one word never collide. The result does not depend on how the
// input is split across update() calls.
#pragma once

#include <cstdint>
#include <string_view>

namespace lsr::core {

class Hash64 {
  public:
    void update(std::string_view data);
    std::uint64_t digest() const;
    static std::uint64_t of(std::string_view data);

  private:
    void block(std::uint64_t word);

    std::uint64_t state_ = 0xcbf29ce484222325ull;  // FNV-1a's offset basis
    std::uint64_t length_ = 0;
    unsigned char tail_[8] = {};
    std::size_t tail_size_ = 0;
};

}  // namespace lsr::core
