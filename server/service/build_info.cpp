#include "server/service/build_info.hpp"

#include <prometheus/gauge.h>

#include <string>

#include "server/service/build_revision.hpp"  // generated: LSR_REVISION

namespace lsr::server {

std::string_view BuildInfo::version() {
    return LSR_VERSION;
}

std::string_view BuildInfo::revision() {
    constexpr std::string_view revision = LSR_REVISION;
    return revision.empty() ? std::string_view("unknown") : revision;
}

void BuildInfo::add_to(prometheus::Registry& registry) {
    prometheus::BuildGauge()
        .Name("lsr_build_info")
        .Help("Always 1; its labels name the relay's version and source revision")
        .Register(registry)
        .Add({{"version", std::string(version())}, {"revision", std::string(revision())}})
        .Set(1);
}

}  // namespace lsr::server
