#include "core/row_parser.hpp"

#include <rapidjson/error/en.h>

namespace lsr::core {

RowParser::RowParser()
    : buffer_(std::make_unique<char[]>(kBufferBytes)), pool_(buffer_.get(), kBufferBytes), doc_(&pool_) {}

const rapidjson::Value* RowParser::parse(std::string_view text, std::string& reason) {
    pool_.Clear();  // the previous row is gone; its value is never read again
    // In situ: strings stay in our copy of the text instead of being copied again into
    // the pool. UTF-8 is checked once, on the serialized event (EventValidator).
    // RapidJSON's SSE4.2 string scan reads whole aligned 16-byte blocks, so the copy
    // carries 16 bytes of zeros after its terminator.
    text_.assign(text.data(), text.size());
    text_.append(17, '\0');
    doc_.ParseInsitu<rapidjson::kParseInsituFlag>(text_.data());
    if (!doc_.HasParseError()) return &doc_;
    switch (doc_.GetParseError()) {
        case rapidjson::kParseErrorStringInvalidEncoding:
            reason = "invalid UTF-8 in a value";
            break;
        case rapidjson::kParseErrorNumberTooBig:
            reason = "a number is out of range";
            break;
        default:
            reason =
                std::string("row is not valid JSON: ") + rapidjson::GetParseError_En(doc_.GetParseError());
    }
    doc_.SetNull();
    return nullptr;
}

}  // namespace lsr::core
