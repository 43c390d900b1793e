// ASCII lower case, for names the protocols compare case-insensitively (hosts, schemes, tags).
// Bytes outside A-Z are kept as they are, whatever the locale.
#pragma once

#include <string>
#include <string_view>

namespace lsr::core {

inline std::string ascii_lower(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

}  // namespace lsr::core
