// What was built: the version (LSR_VERSION, the project's version) and the source revision
// (the CMake cache variable LSR_REVISION: a git commit, or "unknown"). The revision is compiled
// into build_info.cpp alone, so a new commit rebuilds one file.
//   lsr_build_info{version,revision} 1
#pragma once

#include <prometheus/registry.h>

#include <string_view>

namespace lsr::server {

class BuildInfo {
  public:
    static std::string_view version();
    static std::string_view revision();
    // Adds lsr_build_info to `registry` (once per registry; a second call is harmless).
    static void add_to(prometheus::Registry& registry);
};

}  // namespace lsr::server
