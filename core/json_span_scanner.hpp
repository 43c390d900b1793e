// A push scanner over a JSON document fed in chunks of any size. It walks the structure
// only as deep as its handler asks ("descend"); every other value is skipped, captured
// whole (handed over as one span, without a copy when it lies inside one chunk) or
// streamed chunk by chunk. Memory is bounded by the largest captured value, never by the
// document: this is what lets a 1 GB result or attachment pass through in constant space.
//
// The structure the scanner walks is validated (brackets, commas, colons, literals);
// values it captures are validated by whoever parses them; skipped and streamed values
// are checked for balanced brackets and terminated strings only.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "core/json_limits.hpp"

namespace lsr::core {

class JsonSpanScanner {
  public:
    enum class Action : std::uint8_t { skip, capture, stream, descend };

    struct ValueStart {
        std::size_t depth = 0;   // 0 for the root value
        bool in_object = false;  // parent is an object (key is set) or an array (index is set)
        std::string_view key;    // raw key text, escapes not decoded
        std::uint64_t index = 0;
        int parent_tag = 0;        // tag the handler gave the parent when it descended
        char first = 0;            // first byte of the value: { [ " or a literal's first
        std::uint64_t offset = 0;  // offset of that byte in the whole document
    };

    struct Decision {
        Action action = Action::skip;
        int tag = 0;  // reported back in on_value_end and as parent_tag of children
        std::size_t limit = std::numeric_limits<std::size_t>::max();  // capture size cap
        // capture of a container only: offer the handler the rest of the chunk first
        // (Handler::consume_direct), so a value that lies whole in the chunk is read once.
        bool direct = false;
    };

    class Handler {
      public:
        virtual ~Handler() = default;
        virtual Decision on_value_start(const ValueStart& start) = 0;
        // Streamed values: the raw bytes, quotes and brackets included, in order.
        virtual std::error_code on_value_bytes(std::string_view bytes) {
            (void)bytes;
            return {};
        }
        // Every value that was not skipped ends here: captured text (empty for streamed
        // and descended values) and its byte range [begin, end) in the document.
        virtual std::error_code on_value_end(std::string_view captured, std::uint64_t begin,
                                             std::uint64_t end, int tag) = 0;
        // Decision::direct: `rest` starts at the value and runs to the end of the chunk. Returns
        // the value's length when the handler read the whole value itself (on_value_end is then
        // not called), 0 to let the scanner capture it as usual.
        virtual std::size_t consume_direct(std::string_view rest, int tag, std::error_code& ec) {
            (void)rest;
            (void)tag;
            (void)ec;
            return 0;
        }
    };

    static constexpr std::size_t kDefaultMaxDepth = kMaxJsonDepth;
    explicit JsonSpanScanner(Handler& handler, std::size_t max_depth = kDefaultMaxDepth);

    std::error_code feed(std::string_view chunk);
    std::error_code finish();
    std::uint64_t offset() const { return offset_; }

  private:
    enum class State : std::uint8_t {
        value,
        value_or_close,
        key_or_close,
        key,
        in_key,
        colon,
        after_value,
        done,
        fast_string,
        fast_container,
        fast_literal,
    };
    struct Frame {
        bool object = false;
        int tag = 0;
        std::uint64_t index = 0;
        std::uint64_t begin = 0;
    };

    std::error_code step_structure(std::string_view chunk, std::size_t& i);
    std::error_code start_value(std::string_view chunk, std::size_t& i);
    std::error_code close_container(char c, std::size_t i);
    std::error_code run_fast(std::string_view chunk, std::size_t& i);
    bool scan_string(std::string_view chunk, std::size_t& i);
    std::error_code end_fast_value(std::string_view chunk, std::size_t end_index);
    std::error_code flush_partial(std::string_view chunk);
    void value_done();

    Handler& handler_;
    std::size_t max_depth_;
    State state_ = State::value;
    std::vector<Frame> frames_;
    std::string key_;
    bool key_escape_ = false;

    // The value currently skipped, captured or streamed.
    Action action_ = Action::skip;
    int tag_ = 0;
    std::size_t limit_ = 0;
    std::uint64_t begin_ = 0;
    std::size_t start_ = 0;  // where this chunk's part of the value starts
    std::string buffer_;
    std::string brackets_;  // open brackets inside a fast container
    bool in_string_ = false;
    bool escape_ = false;
    std::string literal_;

    std::uint64_t chunk_offset_ = 0;
    std::uint64_t offset_ = 0;
    bool finished_ = false;
};

}  // namespace lsr::core
