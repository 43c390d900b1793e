// Attachment strings: unescaping and base64 must agree however the bytes are split.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/mapping/attachment_decoder.hpp"

namespace {

bool decode(std::string_view raw, bool base64, std::size_t chunk, std::string& out) {
    lsr::core::AttachmentDecoder decoder(lsr::core::AttachmentInfo::Kind::string, base64);
    for (std::size_t i = 0; i < raw.size(); i += chunk)
        if (decoder.feed(raw.substr(i, chunk), out)) return false;
    return !decoder.finish(out);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    const bool base64 = data[0] & 1;
    const std::size_t chunk = 1 + (data[0] >> 1) % 7;
    const std::string_view raw(reinterpret_cast<const char*>(data + 1), size - 1);
    std::string whole, split;
    const bool a = decode(raw, base64, raw.size() + 1, whole);
    const bool b = decode(raw, base64, chunk, split);
    if (a != b || (a && whole != split)) std::abort();
    return 0;
}
