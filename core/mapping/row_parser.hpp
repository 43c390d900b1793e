// Parses one row (or one small node such as `fields`) with RapidJSON, in situ over a
// reused copy of its text, into a pooled allocator that is reset between rows, so a run
// allocates no memory per row once warm. The value is valid until the next parse.
#pragma once

#include <rapidjson/document.h>

#include <memory>
#include <string>
#include <string_view>

namespace lsr::core {

class RowParser {
  public:
    RowParser();
    // nullptr on failure, with a reason for the row's rejection.
    const rapidjson::Value* parse(std::string_view text, std::string& reason);

    // Parses the one JSON value at the start of `text` in situ (the text is modified; it
    // must end with a NUL and 16 more bytes of padding) and sets `consumed` to its length.
    // nullptr when the text does not start with a complete value nested at most
    // `max_depth` deep: the caller then takes the careful path, so any failure here only
    // costs time.
    // `original` is the same text, unmodified.
    const rapidjson::Value* parse_prefix(char* text, std::string_view original, std::size_t max_depth,
                                         std::size_t& consumed);

  private:
    const rapidjson::Value* finish(std::string& reason);

    static constexpr std::size_t kBufferBytes = 64 * 1024;
    std::unique_ptr<char[]> buffer_;
    rapidjson::MemoryPoolAllocator<> pool_;
    rapidjson::Document doc_;
    std::string text_;  // the row being parsed in situ; its strings live here
};

}  // namespace lsr::core
