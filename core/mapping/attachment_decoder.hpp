// Turns the raw bytes of attachment.data (the span ExecutePayloadScanner recorded) into
// the result document, chunk by chunk: a JSON string is unescaped (\uXXXX and surrogate
// pairs included), then base64-decoded when the mimetype says ";base64"; an object or
// array is already the document and passes through unchanged.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>

#include "core/hub/execute_payload_scanner.hpp"

namespace lsr::core {

// An attachment is decoded in chunks of this many input bytes; what a chunk that fails to
// decode gave is dropped whole, so `serve` and `preview` use this one size.
inline constexpr std::size_t kAttachmentReadChunk = 1 << 20;

class AttachmentDecoder {
  public:
    AttachmentDecoder(AttachmentInfo::Kind kind, bool base64);

    // Appends the decoded bytes of raw_chunk to out.
    std::error_code feed(std::string_view raw_chunk, std::string& out);
    std::error_code finish(std::string& out);

  private:
    enum class State : std::uint8_t { before_quote, in_string, escape, hex, closed };

    std::error_code feed_string(std::string_view raw, std::string& out);
    std::error_code end_hex(std::string& out);
    void emit(std::string_view bytes, std::string& out);
    void emit_code_point(std::uint32_t cp, std::string& out);
    bool feed_base64(char c, std::string& out);

    AttachmentInfo::Kind kind_;
    bool base64_;
    State state_ = State::before_quote;
    int hex_digits_ = 0;
    std::uint32_t hex_value_ = 0;
    std::uint32_t high_surrogate_ = 0;  // waiting for its low half
    std::uint32_t quad_ = 0;            // base64 bits collected
    int quad_size_ = 0;
    bool padded_ = false;
    bool failed_ = false;
};

}  // namespace lsr::core
