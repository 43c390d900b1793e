#include "core/delivery/batch_envelope.hpp"

#include "core/delivery/stored_body.hpp"
#include "core/json_out.hpp"

namespace lsr::core {
namespace {

constexpr std::string_view kSeparator = ",\n";

}  // namespace

std::string BatchEnvelope::prefix(std::string_view sent_at_iso, std::string_view write_key) {
    std::string out;
    out.reserve(write_key.size() + sent_at_iso.size() + 40);
    JsonOut w(out);
    w.raw('{');
    w.key("sentAt");
    w.string(sent_at_iso);
    w.raw(',');
    w.key("writeKey");
    w.string(write_key);
    w.raw(",\"batch\":[");
    return out;
}

std::string BatchEnvelope::build(std::string_view body, std::string_view sent_at_iso,
                                 std::string_view write_key) {
    std::string out = prefix(sent_at_iso, write_key);
    out.reserve(out.size() + body.size() + StoredBody::kTail.size());
    out.append(body);  // the serialized events, already JSON
    out.append(StoredBody::kTail);
    return out;
}

std::size_t BatchEnvelope::size(std::size_t body_bytes, std::string_view write_key) {
    return prefix("2000-01-01T00:00:00.000Z", write_key).size() + body_bytes + StoredBody::kTail.size();
}

std::vector<std::string_view> BatchEnvelope::events(std::string_view body) {
    std::vector<std::string_view> out;
    if (body.empty()) return out;
    std::size_t from = 0;
    for (;;) {
        const std::size_t at = body.find(kSeparator, from);
        if (at == std::string_view::npos) {
            out.push_back(body.substr(from));
            return out;
        }
        out.push_back(body.substr(from, at - from));
        from = at + kSeparator.size();
    }
}

std::uint32_t BatchEnvelope::count_events(std::string_view body) {
    if (body.empty()) return 0;
    std::uint32_t n = 1;
    for (std::size_t at = body.find(kSeparator); at != std::string_view::npos;
         at = body.find(kSeparator, at + kSeparator.size()))
        ++n;
    return n;
}

std::pair<std::string, std::string> BatchEnvelope::split_half(std::string_view body) {
    const std::uint32_t n = count_events(body);
    if (n < 2) return {std::string(body), std::string()};
    const std::uint32_t first = (n + 1) / 2;
    std::size_t at = 0;
    for (std::uint32_t k = 0; k < first; ++k) {
        at = body.find(kSeparator, k == 0 ? 0 : at + kSeparator.size());
    }
    return {std::string(body.substr(0, at)), std::string(body.substr(at + kSeparator.size()))};
}

}  // namespace lsr::core
