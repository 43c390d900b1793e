#include "server/service/build_info.hpp"

#include <prometheus/registry.h>

#include <catch2/catch.hpp>
#include <regex>
#include <string>

using lsr::server::BuildInfo;

TEST_CASE("BuildInfo: lsr_build_info is 1, labelled with the version and the revision") {
    CHECK(BuildInfo::version() == LSR_VERSION);
    const std::string revision(BuildInfo::revision());
    CHECK(std::regex_match(revision, std::regex("[A-Za-z0-9._+-]+")));

    prometheus::Registry registry;
    BuildInfo::add_to(registry);
    BuildInfo::add_to(registry);  // harmless a second time
    const auto families = registry.Collect();
    REQUIRE(families.size() == 1);
    CHECK(families[0].name == "lsr_build_info");
    CHECK(families[0].type == prometheus::MetricType::Gauge);
    REQUIRE(families[0].metric.size() == 1);
    const auto& m = families[0].metric[0];
    CHECK(m.gauge.value == 1.0);
    REQUIRE(m.label.size() == 2);
    CHECK(m.label[0].name == "revision");
    CHECK(m.label[0].value == revision);
    CHECK(m.label[1].name == "version");
    CHECK(m.label[1].value == LSR_VERSION);
}
