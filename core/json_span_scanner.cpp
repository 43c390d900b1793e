#include "core/json_span_scanner.hpp"

#include <array>
#include <cstdint>
#include <cstring>

#ifdef __SSE4_2__
#include <nmmintrin.h>
#endif

#include "core/byte_scan.hpp"
#include "core/core_error.hpp"
#include "core/text.hpp"

namespace lsr::core {
namespace {

constexpr std::size_t kMaxKey = 1024;  // longer keys never match anything a handler wants
constexpr std::size_t kMaxLiteral = 512;

bool is_space(char c) {
    return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

bool is_literal_char(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' ||
           c == '+' || c == '.';
}

// A JSON number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
bool is_valid_literal(std::string_view s) {
    return s == "true" || s == "false" || s == "null" || is_json_number(s);
}

// Bytes that end a run of plain string content, and those that matter inside a skipped
// container outside strings.
const ByteScan kStringStops("\"\\", 2, false);
const ByteScan kContainerStops("\"{}[]", 5, false);

}  // namespace

JsonSpanScanner::JsonSpanScanner(Handler& handler, std::size_t max_depth)
    : handler_(handler), max_depth_(max_depth) {}

std::error_code JsonSpanScanner::feed(std::string_view chunk) {
    if (finished_) return CoreError::finished;
    chunk_offset_ = offset_;
    start_ = 0;
    std::size_t i = 0;
    while (i < chunk.size()) {
        std::error_code ec;
        if (state_ == State::fast_string || state_ == State::fast_container ||
            state_ == State::fast_literal) {
            ec = run_fast(chunk, i);
        } else {
            ec = step_structure(chunk, i);
        }
        if (ec) {
            offset_ = chunk_offset_ + i;  // where it went wrong, for the message
            return ec;
        }
    }
    offset_ = chunk_offset_ + chunk.size();
    return flush_partial(chunk);
}

std::error_code JsonSpanScanner::finish() {
    if (finished_) return {};
    finished_ = true;
    if (state_ == State::fast_literal) {
        if (auto ec = end_fast_value({}, 0)) return ec;
    }
    if (state_ != State::done) return CoreError::truncated;
    return {};
}

// Hands the part of the current value that lies in this chunk to the buffer or the
// handler, so the chunk can be released.
std::error_code JsonSpanScanner::flush_partial(std::string_view chunk) {
    if (state_ != State::fast_string && state_ != State::fast_container && state_ != State::fast_literal)
        return {};
    std::string_view part = chunk.substr(start_);
    start_ = 0;
    if (action_ == Action::capture) {
        if (buffer_.size() + part.size() > limit_) return CoreError::too_large;
        buffer_.append(part);
    } else if (action_ == Action::stream) {
        if (auto ec = handler_.on_value_bytes(part)) return ec;
    }
    return {};
}

std::error_code JsonSpanScanner::step_structure(std::string_view chunk, std::size_t& i) {
    const char c = chunk[i];
    switch (state_) {
        case State::value:
        case State::value_or_close:
            if (is_space(c)) break;
            if (c == ']' && state_ == State::value_or_close) return close_container(c, i++);
            return start_value(chunk, i);
        case State::key_or_close:
        case State::key:
            if (is_space(c)) break;
            if (c == '}' && state_ == State::key_or_close) return close_container(c, i++);
            if (c != '"') return CoreError::invalid_json;
            key_.clear();
            key_escape_ = false;
            state_ = State::in_key;
            break;
        case State::in_key:
            if (key_escape_) {
                key_escape_ = false;
            } else if (c == '\\') {
                key_escape_ = true;
            } else if (c == '"') {
                state_ = State::colon;
                break;
            } else if (static_cast<unsigned char>(c) < 0x20) {
                return CoreError::invalid_json;
            }
            if (key_.size() < kMaxKey) key_.push_back(c);
            break;
        case State::colon:
            if (is_space(c)) break;
            if (c != ':') return CoreError::invalid_json;
            state_ = State::value;
            break;
        case State::after_value:
            if (is_space(c)) break;
            if (c == ',') {
                Frame& top = frames_.back();
                if (top.object) {
                    state_ = State::key;
                } else {
                    ++top.index;
                    state_ = State::value;
                }
                break;
            }
            if (c == '}' || c == ']') return close_container(c, i++);
            return CoreError::invalid_json;
        case State::done:
            if (!is_space(c)) return CoreError::invalid_json;
            break;
        default:
            return CoreError::invalid_json;
    }
    ++i;
    return {};
}

// Consumes the value's first byte (or, when the handler reads it directly, the whole value).
std::error_code JsonSpanScanner::start_value(std::string_view chunk, std::size_t& i) {
    const char c = chunk[i];
    if (c != '{' && c != '[' && c != '"' &&
        !(c == '-' || (c >= '0' && c <= '9') || c == 't' || c == 'f' || c == 'n'))
        return CoreError::invalid_json;
    ValueStart start;
    start.depth = frames_.size();
    start.first = c;
    start.offset = chunk_offset_ + i;
    if (!frames_.empty()) {
        const Frame& top = frames_.back();
        start.in_object = top.object;
        if (top.object) start.key = key_;
        start.index = top.index;
        start.parent_tag = top.tag;
    }
    const Decision d = handler_.on_value_start(start);
    if (d.direct && d.action == Action::capture && (c == '{' || c == '[')) {
        std::error_code ec;
        const std::size_t used = handler_.consume_direct(chunk.substr(i), d.tag, ec);
        if (ec) return ec;
        if (used > 0) {
            i += used;
            value_done();
            return {};
        }
    }
    const std::size_t at = i++;
    if (d.action == Action::descend && (c == '{' || c == '[')) {
        if (frames_.size() + 1 > max_depth_) return CoreError::too_deep;
        frames_.push_back(Frame{c == '{', d.tag, 0, start.offset});
        state_ = c == '{' ? State::key_or_close : State::value_or_close;
        return {};
    }
    action_ = d.action == Action::descend ? Action::capture : d.action;
    tag_ = d.tag;
    limit_ = d.limit;
    begin_ = start.offset;
    start_ = at;
    buffer_.clear();
    in_string_ = false;
    escape_ = false;
    if (c == '"') {
        state_ = State::fast_string;
    } else if (c == '{' || c == '[') {
        brackets_.assign(1, c);
        state_ = State::fast_container;
    } else {
        literal_.assign(1, c);
        state_ = State::fast_literal;
    }
    return {};
}

std::error_code JsonSpanScanner::close_container(char c, std::size_t i) {
    if (frames_.empty()) return CoreError::invalid_json;
    const Frame top = frames_.back();
    if ((c == '}') != top.object) return CoreError::invalid_json;
    frames_.pop_back();
    value_done();
    return handler_.on_value_end({}, top.begin, chunk_offset_ + i + 1, top.tag);
}

void JsonSpanScanner::value_done() {
    state_ = frames_.empty() ? State::done : State::after_value;
}

// Advances i over string content; returns true when the closing quote was consumed.
// Finds the closing quote of a string (i is inside it). With SSE, 16 bytes at a time: the
// quotes and backslashes of a block as bit masks, its backslashes walked in order (each
// escapes the byte after it, which may lie in the next block), so an escape every few bytes
// costs a few instructions, not a new search.
bool JsonSpanScanner::scan_string(std::string_view chunk, std::size_t& i) {
    const char* p = chunk.data();
    const std::size_t n = chunk.size();
#ifdef __SSE4_2__
    const __m128i quote = _mm_set1_epi8('"');
    const __m128i backslash = _mm_set1_epi8('\\');
    while (i + 16 <= n) {
        const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
        const auto quotes = static_cast<std::uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(bytes, quote)));
        const auto slashes = static_cast<std::uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(bytes, backslash)));
        std::uint32_t specials = quotes | slashes;
        // The position escaped by a backslash, 16 when it lies in the next block.
        int escaped = escape_ ? 0 : -1;
        escape_ = false;
        while (specials != 0) {
            const int j = __builtin_ctz(specials);
            specials &= specials - 1;
            if (j == escaped) continue;
            if ((slashes >> j) & 1u) {
                escaped = j + 1;
                continue;
            }
            i += static_cast<std::size_t>(j) + 1;  // the closing quote
            return true;
        }
        escape_ = escaped == 16;
        i += 16;
    }
#endif
    while (i < n) {
        if (escape_) {
            escape_ = false;
            ++i;
            continue;
        }
        i = kStringStops.find(p, i, n);
        if (i == n) return false;
        if (p[i] == '\\') {
            escape_ = true;
            ++i;
            continue;
        }
        ++i;  // closing quote
        return true;
    }
    return false;
}

std::error_code JsonSpanScanner::run_fast(std::string_view chunk, std::size_t& i) {
    const std::size_t n = chunk.size();
    if (state_ == State::fast_string) {
        if (scan_string(chunk, i)) return end_fast_value(chunk, i);
        return {};
    }
    if (state_ == State::fast_literal) {
        while (i < n && is_literal_char(chunk[i])) {
            if (literal_.size() >= kMaxLiteral) return CoreError::invalid_json;
            literal_.push_back(chunk[i++]);
        }
        if (i == n) return {};
        return end_fast_value(chunk, i);  // the terminator is not part of the value
    }
    // State in locals: the compiler cannot keep members in registers across byte reads
    // through a char pointer, which may alias them.
    const char* p = chunk.data();
    bool in_string = in_string_;
    bool escape = escape_;
    std::error_code ec;
    bool ended = false;
    while (i < n) {
        const char c = p[i++];
        if (in_string) {
            if (escape) {
                escape = false;
            } else if (c == '\\') {
                escape = true;
            } else if (c == '"') {
                in_string = false;
            } else {
                i = kStringStops.find(p, i, n);  // skip the rest of the plain run at once
            }
            continue;
        }
        if (!kContainerStops.matches(c)) continue;
        if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            if (frames_.size() + brackets_.size() + 1 > max_depth_) return CoreError::too_deep;
            brackets_.push_back(c);
        } else {
            if ((c == '}') != (brackets_.back() == '{')) return CoreError::invalid_json;
            brackets_.pop_back();
            if (brackets_.empty()) {
                ended = true;
                break;
            }
        }
    }
    in_string_ = in_string;
    escape_ = escape;
    if (ended) ec = end_fast_value(chunk, i);
    return ec;
}

// The value ends just before end_index of this chunk.
std::error_code JsonSpanScanner::end_fast_value(std::string_view chunk, std::size_t end_index) {
    if (state_ == State::fast_literal && !is_valid_literal(literal_)) return CoreError::invalid_json;
    std::string_view part = chunk.substr(start_, end_index - start_);
    const std::uint64_t end = chunk_offset_ + end_index;
    std::string_view captured;
    if (action_ == Action::capture) {
        if (buffer_.size() + part.size() > limit_) return CoreError::too_large;
        if (buffer_.empty()) {
            captured = part;
        } else {
            buffer_.append(part);
            captured = buffer_;
        }
    } else if (action_ == Action::stream && !part.empty()) {
        if (auto ec = handler_.on_value_bytes(part)) return ec;
    }
    in_string_ = false;
    escape_ = false;
    value_done();
    start_ = end_index;
    std::error_code ec;
    if (action_ != Action::skip) ec = handler_.on_value_end(captured, begin_, end, tag_);
    return ec;
}

}  // namespace lsr::core
