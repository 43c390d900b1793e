#include "core/mapping/row_parser.hpp"

#include <rapidjson/encodedstream.h>
#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

#include "core/byte_scan.hpp"

namespace lsr::core {
namespace {

// RapidJSON's SSE4.2 in-situ string scan treats raw control characters differently
// depending on the text's alignment (accepted at some offsets, an error at others). Text
// holding any byte below 0x20 is therefore parsed through its plain byte-at-a-time path,
// so a row's fate never depends on where it sat in a chunk.
const ByteScan kControl("\x00\x1f", 2, true);

bool has_control(std::string_view text) {
    return kControl.find(text.data(), 0, text.size()) < text.size();
}

// Forwards the parse to the document, refusing to nest deeper than the scanner would
// allow: the values are later walked recursively.
class DepthLimit {
  public:
    DepthLimit(rapidjson::Document& doc, std::size_t max_depth) : doc_(doc), max_(max_depth) {}
    bool Null() { return doc_.Null(); }
    bool Bool(bool b) { return doc_.Bool(b); }
    bool Int(int i) { return doc_.Int(i); }
    bool Uint(unsigned i) { return doc_.Uint(i); }
    bool Int64(std::int64_t i) { return doc_.Int64(i); }
    bool Uint64(std::uint64_t i) { return doc_.Uint64(i); }
    bool Double(double d) { return doc_.Double(d); }
    bool RawNumber(const char* s, rapidjson::SizeType n, bool copy) { return doc_.RawNumber(s, n, copy); }
    bool String(const char* s, rapidjson::SizeType n, bool copy) { return doc_.String(s, n, copy); }
    bool Key(const char* s, rapidjson::SizeType n, bool copy) { return doc_.Key(s, n, copy); }
    bool StartObject() { return ++depth_ <= max_ && doc_.StartObject(); }
    bool EndObject(rapidjson::SizeType n) {
        --depth_;
        return doc_.EndObject(n);
    }
    bool StartArray() { return ++depth_ <= max_ && doc_.StartArray(); }
    bool EndArray(rapidjson::SizeType n) {
        --depth_;
        return doc_.EndArray(n);
    }

  private:
    rapidjson::Document& doc_;
    std::size_t max_;
    std::size_t depth_ = 0;
};

struct PrefixParse {
    char* text;
    std::size_t max_depth;
    std::size_t consumed = 0;
    bool ok = false;
    bool operator()(rapidjson::Document& doc) {
        DepthLimit handler(doc, max_depth);
        rapidjson::InsituStringStream stream(text);
        rapidjson::Reader reader;
        const auto result =
            reader.Parse<rapidjson::kParseInsituFlag | rapidjson::kParseStopWhenDoneFlag>(stream, handler);
        consumed = stream.Tell();
        ok = !result.IsError();
        return ok;
    }
};

}  // namespace

RowParser::RowParser()
    : buffer_(std::make_unique<char[]>(kBufferBytes)), pool_(buffer_.get(), kBufferBytes), doc_(&pool_) {}

const rapidjson::Value* RowParser::parse(std::string_view text, std::string& reason) {
    doc_.SetNull();
    pool_.Clear();  // the previous row is gone; its value is never read again
    if (has_control(text)) {
        rapidjson::MemoryStream bytes(text.data(), text.size());
        rapidjson::EncodedInputStream<rapidjson::UTF8<>, rapidjson::MemoryStream> stream(bytes);
        doc_.ParseStream<rapidjson::kParseDefaultFlags, rapidjson::UTF8<>>(stream);
        return finish(reason);
    }
    // In situ: strings stay in our copy of the text instead of being copied again into
    // the pool. UTF-8 is checked once, on the serialized event (EventValidator).
    // RapidJSON's SSE4.2 string scan reads whole aligned 16-byte blocks, so the copy
    // carries 16 bytes of zeros after its terminator.
    text_.assign(text.data(), text.size());
    text_.append(17, '\0');
    doc_.ParseInsitu<rapidjson::kParseInsituFlag>(text_.data());
    return finish(reason);
}

const rapidjson::Value* RowParser::finish(std::string& reason) {
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

const rapidjson::Value* RowParser::parse_prefix(char* text, std::string_view original, std::size_t max_depth,
                                                std::size_t& consumed) {
    doc_.SetNull();  // forget the previous row before its memory is reused
    pool_.Clear();
    PrefixParse parse{text, max_depth};
    doc_.Populate(parse);
    if (!parse.ok || parse.consumed == 0 || has_control(original.substr(0, parse.consumed))) {
        doc_.SetNull();
        return nullptr;
    }
    consumed = parse.consumed;
    return &doc_;
}

}  // namespace lsr::core
