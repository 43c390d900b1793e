#include "core/mapping/attachment_decoder.hpp"

#include <algorithm>
#include <cstring>

#ifdef __SSE4_2__
#include <nmmintrin.h>
#endif

#include "core/byte_scan.hpp"
#include "core/core_error.hpp"

namespace lsr::core {
namespace {

int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int base64_digit(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;  // '-' and '_': the URL-safe alphabet
    if (c == '/' || c == '_') return 63;
    return -1;
}

constexpr std::uint32_t kReplacement = 0xFFFD;

// The byte a one-character escape stands for, 0 for \u and invalid escapes.
char simple_escape(char c) {
    switch (c) {
        case '"':
            return '"';
        case '\\':
            return '\\';
        case '/':
            return '/';
        case 'b':
            return '\b';
        case 'f':
            return '\f';
        case 'n':
            return '\n';
        case 'r':
            return '\r';
        case 't':
            return '\t';
        default:
            return 0;
    }
}

// Bytes that end a plain run inside a JSON string: controls, the quote, the backslash.
constexpr ByteScan kStringSpecial("\x00\x1f\"\"\\\\", 6, true);

constexpr std::size_t kWindow = 4096;

// From p[i], plain bytes and one-character escapes, decoded into dst (which has room for
// n - i bytes: the decoded text is never longer). Stops at n, at a quote,
// a control byte, a \u or an invalid escape, or an escape cut by the chunk's end. Returns
// the new i; `dst` is advanced.
std::size_t copy_plain(const char* p, std::size_t i, std::size_t n, char*& dst) {
    char* d = dst;
    for (;;) {
#ifdef __SSE4_2__
        // 16 bytes at a time: stored whole (the room allows it: i + 16 <= n), kept up to the
        // first special byte.
        const __m128i quote = _mm_set1_epi8('"');
        const __m128i backslash = _mm_set1_epi8('\\');
        const __m128i control_max = _mm_set1_epi8(0x1f);
        // Dense escapes (an escaped result has one every few bytes): every one-character
        // escape of a block is handled from its bit mask, the rest of the block stored again
        // behind it; the loads stay within n (i + pos + 16 <= i + 32 <= n).
        while (i + 32 <= n) {
            const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
            _mm_storeu_si128(reinterpret_cast<__m128i*>(d), bytes);
            auto mask = static_cast<unsigned>(_mm_movemask_epi8(
                _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(bytes, quote), _mm_cmpeq_epi8(bytes, backslash)),
                             _mm_cmpeq_epi8(_mm_max_epu8(bytes, control_max), control_max))));
            std::size_t pos = 0;  // bytes of the block consumed
            bool stopped = false;
            while (mask != 0) {
                const auto j = static_cast<std::size_t>(__builtin_ctz(mask));
                d += j - pos;  // the plain bytes before it are in place
                pos = j;
                if (j == 15 || p[i + j] != '\\') {
                    stopped = true;
                    break;
                }
                const char plain = simple_escape(p[i + j + 1]);
                if (plain == 0) {
                    stopped = true;
                    break;
                }
                *d++ = plain;
                pos = j + 2;
                mask &= ~(3u << j);  // the escape and the byte it escaped
                _mm_storeu_si128(reinterpret_cast<__m128i*>(d),
                                 _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i + pos)));
            }
            if (stopped) {
                i += pos;
                break;
            }
            d += 16 - pos;
            i += 16;
        }
        std::size_t stop = n;
        while (i + 16 <= n) {
            const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
            _mm_storeu_si128(reinterpret_cast<__m128i*>(d), bytes);
            const __m128i special =
                _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(bytes, quote), _mm_cmpeq_epi8(bytes, backslash)),
                             _mm_cmpeq_epi8(_mm_max_epu8(bytes, control_max), control_max));
            const int mask = _mm_movemask_epi8(special);
            if (mask != 0) {
                const auto at = static_cast<std::size_t>(__builtin_ctz(static_cast<unsigned>(mask)));
                d += at;
                i += at;
                stop = i;
                break;
            }
            d += 16;
            i += 16;
        }
        if (stop == n) {
            const std::size_t j = kStringSpecial.find(p, i, n);
            std::memcpy(d, p + i, j - i);
            d += j - i;
            i = j;
        }
#else
        const std::size_t j = kStringSpecial.find(p, i, n);
        std::memcpy(d, p + i, j - i);
        d += j - i;
        i = j;
#endif
        if (i + 1 >= n || p[i] != '\\') break;
        const char plain = simple_escape(p[i + 1]);
        if (plain == 0) break;
        *d++ = plain;
        i += 2;
    }
    dst = d;
    return i;
}

}  // namespace

AttachmentDecoder::AttachmentDecoder(AttachmentInfo::Kind kind, bool base64)
    : kind_(kind), base64_(base64 && kind == AttachmentInfo::Kind::string) {}

std::error_code AttachmentDecoder::feed(std::string_view raw_chunk, std::string& out) {
    if (failed_) return CoreError::invalid_escape;
    if (kind_ != AttachmentInfo::Kind::string) {
        out.append(raw_chunk);
        return {};
    }
    auto ec = feed_string(raw_chunk, out);
    if (ec) failed_ = true;
    return ec;
}

std::error_code AttachmentDecoder::finish(std::string& out) {
    if (failed_) return CoreError::invalid_escape;
    if (kind_ != AttachmentInfo::Kind::string) return {};
    if (state_ != State::closed) return CoreError::truncated;
    if (!base64_ || quad_size_ == 0) return {};
    if (quad_size_ == 1) return CoreError::invalid_base64;
    // Unpadded tail: 2 sextets give one byte, 3 give two.
    const std::uint32_t bits = quad_ << (6 * (4 - quad_size_));
    out.push_back(static_cast<char>((bits >> 16) & 0xFF));
    if (quad_size_ == 3) out.push_back(static_cast<char>((bits >> 8) & 0xFF));
    quad_size_ = 0;
    return {};
}

std::error_code AttachmentDecoder::feed_string(std::string_view raw, std::string& out) {
    std::size_t i = 0;
    while (i < raw.size()) {
        const char c = raw[i];
        switch (state_) {
            case State::before_quote:
                if (c != '"') return CoreError::invalid_escape;
                state_ = State::in_string;
                ++i;
                break;
            case State::in_string: {
                if (!base64_ && high_surrogate_ == 0) {
                    // The common case, in bulk: runs of plain bytes and simple escapes, a
                    // window at a time through a buffer on the stack.
                    char window[kWindow];
                    bool progressed = false;
                    for (;;) {
                        const std::size_t limit = std::min(raw.size(), i + kWindow);
                        char* d = window;
                        const std::size_t next = copy_plain(raw.data(), i, limit, d);
                        out.append(window, static_cast<std::size_t>(d - window));
                        progressed = progressed || next > i;
                        i = next;
                        if (i < limit || i == raw.size()) break;
                    }
                    if (progressed) break;
                }
                std::size_t run = i;
                while (run < raw.size() && raw[run] != '"' && raw[run] != '\\' &&
                       static_cast<unsigned char>(raw[run]) >= 0x20)
                    ++run;
                if (run > i) {
                    if (high_surrogate_ != 0) {
                        emit_code_point(kReplacement, out);
                        high_surrogate_ = 0;
                    }
                    emit(raw.substr(i, run - i), out);
                    if (failed_) return CoreError::invalid_base64;
                    i = run;
                    break;
                }
                if (static_cast<unsigned char>(c) < 0x20) return CoreError::invalid_escape;
                if (c == '"') {
                    if (high_surrogate_ != 0) emit_code_point(kReplacement, out);
                    high_surrogate_ = 0;
                    state_ = State::closed;
                } else {
                    state_ = State::escape;
                }
                ++i;
                break;
            }
            case State::escape: {
                if (c == 'u') {
                    state_ = State::hex;
                    hex_digits_ = 0;
                    hex_value_ = 0;
                    ++i;
                    continue;
                }
                const char plain = simple_escape(c);
                if (plain == 0) return CoreError::invalid_escape;
                if (high_surrogate_ != 0) {
                    emit_code_point(kReplacement, out);
                    high_surrogate_ = 0;
                }
                emit(std::string_view(&plain, 1), out);
                if (failed_) return CoreError::invalid_base64;
                state_ = State::in_string;
                ++i;
                break;
            }
            case State::hex: {
                const int d = hex_digit(c);
                if (d < 0) return CoreError::invalid_escape;
                hex_value_ = (hex_value_ << 4) | static_cast<std::uint32_t>(d);
                ++i;
                if (++hex_digits_ == 4) {
                    if (auto ec = end_hex(out)) return ec;
                }
                break;
            }
            case State::closed:
                return CoreError::invalid_escape;  // bytes after the string
        }
    }
    return {};
}

// A complete \uXXXX: pairs a high surrogate with the low one that follows; a lone half
// becomes U+FFFD, as JavaScript's UTF-8 encoding of the string would.
std::error_code AttachmentDecoder::end_hex(std::string& out) {
    state_ = State::in_string;
    const std::uint32_t u = hex_value_;
    if (u >= 0xD800 && u <= 0xDBFF) {
        if (high_surrogate_ != 0) emit_code_point(kReplacement, out);
        high_surrogate_ = u;
    } else if (u >= 0xDC00 && u <= 0xDFFF) {
        if (high_surrogate_ != 0) {
            emit_code_point(0x10000 + ((high_surrogate_ - 0xD800) << 10) + (u - 0xDC00), out);
        } else {
            emit_code_point(kReplacement, out);
        }
        high_surrogate_ = 0;
    } else {
        if (high_surrogate_ != 0) emit_code_point(kReplacement, out);
        high_surrogate_ = 0;
        emit_code_point(u, out);
    }
    return failed_ ? std::error_code(CoreError::invalid_base64) : std::error_code{};
}

void AttachmentDecoder::emit_code_point(std::uint32_t cp, std::string& out) {
    char buf[4];
    std::size_t n = 0;
    if (cp < 0x80) {
        buf[n++] = static_cast<char>(cp);
    } else if (cp < 0x800) {
        buf[n++] = static_cast<char>(0xC0 | (cp >> 6));
        buf[n++] = static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        buf[n++] = static_cast<char>(0xE0 | (cp >> 12));
        buf[n++] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        buf[n++] = static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        buf[n++] = static_cast<char>(0xF0 | (cp >> 18));
        buf[n++] = static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        buf[n++] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        buf[n++] = static_cast<char>(0x80 | (cp & 0x3F));
    }
    emit(std::string_view(buf, n), out);
}

void AttachmentDecoder::emit(std::string_view bytes, std::string& out) {
    if (!base64_) {
        out.append(bytes);
        return;
    }
    for (char c : bytes) {
        if (!feed_base64(c, out)) {
            failed_ = true;
            return;
        }
    }
}

bool AttachmentDecoder::feed_base64(char c, std::string& out) {
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') return true;
    if (c == '=') {
        // Padding closes the quad: "xx==" gives one byte, "xxx=" two.
        if (!padded_) {
            if (quad_size_ < 2) return false;
            const std::uint32_t bits = quad_ << (6 * (4 - quad_size_));
            out.push_back(static_cast<char>((bits >> 16) & 0xFF));
            if (quad_size_ == 3) out.push_back(static_cast<char>((bits >> 8) & 0xFF));
            quad_size_ = 0;
            quad_ = 0;
            padded_ = true;
        }
        return true;
    }
    const int d = base64_digit(c);
    if (d < 0 || padded_) return false;
    quad_ = (quad_ << 6) | static_cast<std::uint32_t>(d);
    if (++quad_size_ == 4) {
        out.push_back(static_cast<char>((quad_ >> 16) & 0xFF));
        out.push_back(static_cast<char>((quad_ >> 8) & 0xFF));
        out.push_back(static_cast<char>(quad_ & 0xFF));
        quad_ = 0;
        quad_size_ = 0;
    }
    return true;
}

}  // namespace lsr::core
