#include "core/sync/hash64.hpp"

#include <bit>
#include <cstring>

namespace lsr::core {
namespace {

constexpr std::uint64_t kSpread = 0x9e3779b97f4a7c15ull;
constexpr std::uint64_t kStep = 0xbf58476d1ce4e5b9ull;

inline std::uint64_t load_le(const unsigned char* p) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    if constexpr (std::endian::native == std::endian::big) w = __builtin_bswap64(w);
    return w;
}

inline std::uint64_t step(std::uint64_t state, std::uint64_t word) {
    std::uint64_t m = word * kSpread;
    m ^= m >> 29;
    state = (state ^ m) * kStep;
    return state ^ (state >> 32);
}

}  // namespace

void Hash64::block(std::uint64_t word) {
    state_ = step(state_, word);
}

void Hash64::update(std::string_view data) {
    const auto* p = reinterpret_cast<const unsigned char*>(data.data());
    std::size_t n = data.size();
    length_ += n;
    if (tail_size_ > 0) {
        const std::size_t take = n < 8 - tail_size_ ? n : 8 - tail_size_;
        std::memcpy(tail_ + tail_size_, p, take);
        tail_size_ += take;
        p += take;
        n -= take;
        if (tail_size_ < 8) return;
        block(load_le(tail_));
        tail_size_ = 0;
    }
    std::uint64_t s = state_;
    for (; n >= 8; p += 8, n -= 8) s = step(s, load_le(p));
    state_ = s;
    if (n > 0) std::memcpy(tail_, p, n);
    tail_size_ = n;
}

std::uint64_t Hash64::digest() const {
    std::uint64_t s = state_;
    if (tail_size_ > 0) {
        unsigned char last[8] = {};
        std::memcpy(last, tail_, tail_size_);
        s = step(s, load_le(last));
    }
    s = step(s, length_);
    // splitmix64's finalizer.
    s = (s ^ (s >> 30)) * 0xbf58476d1ce4e5b9ull;
    s = (s ^ (s >> 27)) * 0x94d049bb133111ebull;
    return s ^ (s >> 31);
}

std::uint64_t Hash64::of(std::string_view data) {
    Hash64 h;
    h.update(data);
    return h.digest();
}

}  // namespace lsr::core
