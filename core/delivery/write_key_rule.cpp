#include "core/delivery/write_key_rule.hpp"

namespace lsr::core {

std::optional<std::string> WriteKeyRule::problem(std::string_view key) {
    if (key.empty()) return std::string("The Segment write key is empty.");
    if (key.size() > kMaxBytes) {
        return "The Segment write key is " + std::to_string(key.size()) +
               " bytes long; a write key has at most " + std::to_string(kMaxBytes) + ".";
    }
    for (std::size_t i = 0; i < key.size(); ++i) {
        const auto c = static_cast<unsigned char>(key[i]);
        const std::string at = " (at byte " + std::to_string(i + 1) + ").";
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f')
            return "The Segment write key contains whitespace" + at;
        if (c < 0x20 || c == 0x7F) return "The Segment write key contains a control character" + at;
        if (c >= 0x80) return "The Segment write key contains a non-ASCII byte" + at;
    }
    return std::nullopt;
}

}  // namespace lsr::core
