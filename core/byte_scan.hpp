// Finding the next interesting byte in a buffer, 16 bytes at a time with SSE4.2 (the
// project builds core with -msse4.2), a table lookup per byte otherwise and for the tail.
// JSON scanning and escaping spend most of their time skipping plain bytes.
#pragma once

#include <array>
#include <cstddef>

#ifdef __SSE4_2__
#include <nmmintrin.h>
#endif

namespace lsr::core {

class ByteScan {
  public:
    // A set of up to 16 bytes; ranges: pairs of inclusive bounds instead.
    constexpr ByteScan(const char* set, int size, bool ranges) : size_(size), ranges_(ranges) {
        for (int k = 0; k < size && k < 16; ++k) set_[static_cast<std::size_t>(k)] = set[k];
        if (ranges) {
            for (int k = 0; k + 1 < size; k += 2)
                for (int c = static_cast<unsigned char>(set[k]); c <= static_cast<unsigned char>(set[k + 1]);
                     ++c)
                    table_[static_cast<std::size_t>(c)] = true;
        } else {
            for (int k = 0; k < size; ++k) table_[static_cast<unsigned char>(set[k])] = true;
        }
    }

    bool matches(char c) const { return table_[static_cast<unsigned char>(c)]; }

    // The first index >= i whose byte is in the set, or n.
    std::size_t find(const char* p, std::size_t i, std::size_t n) const {
#ifdef __SSE4_2__
        const __m128i needles = _mm_loadu_si128(reinterpret_cast<const __m128i*>(set_.data()));
        while (i + 16 <= n) {
            const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
            const int at =
                ranges_ ? _mm_cmpestri(needles, size_, bytes, 16,
                                       _SIDD_UBYTE_OPS | _SIDD_CMP_RANGES | _SIDD_LEAST_SIGNIFICANT)
                        : _mm_cmpestri(needles, size_, bytes, 16,
                                       _SIDD_UBYTE_OPS | _SIDD_CMP_EQUAL_ANY | _SIDD_LEAST_SIGNIFICANT);
            if (at < 16) return i + static_cast<std::size_t>(at);
            i += 16;
        }
#endif
        while (i < n && !table_[static_cast<unsigned char>(p[i])]) ++i;
        return i;
    }

  private:
    alignas(16) std::array<char, 16> set_{};
    std::array<bool, 256> table_{};
    int size_;
    bool ranges_;
};

}  // namespace lsr::core
