// Bounds on the JSON the relay reads from requests and results.
#pragma once

#include <cstddef>

namespace lsr::core {

// Deepest nesting of arrays and objects in any JSON the relay parses (request bodies on
// every route, result documents, rows). Scanning is iterative; RapidJSON, which parses the
// small captured values, recurses, so this also bounds its stack use. Looker's documents
// nest a handful of levels; anything beyond this is refused (400 on a request body).
inline constexpr std::size_t kMaxJsonDepth = 128;

}  // namespace lsr::core
