#include "server/ingest/ingest_metrics.hpp"

#include <catch2/catch.hpp>

using lsr::server::IngestMetrics;

TEST_CASE("IngestMetrics keeps reason labels bounded", "[ingest_metrics]") {
    CHECK(IngestMetrics::reason_label("no user id, anonymous id or email") ==
          "no user id, anonymous id or email");
    CHECK(IngestMetrics::reason_label("event is 40123 bytes, above Segment's limit of 32000") ==
          "event is N bytes, above Segment's limit of N");
    CHECK(IngestMetrics::reason_label("") == "unknown");
    CHECK(IngestMetrics::reason_label(std::string(500, 'x')).size() == 96);
}

TEST_CASE("IngestMetrics instances over one registry share their series", "[ingest_metrics]") {
    prometheus::Registry registry;
    IngestMetrics a(registry);
    IngestMetrics b(registry);
    a.rows_accepted(2);
    b.rows_accepted(3);
    a.rows_rejected("line 4 has 3 columns", 1);
    b.rows_rejected("line 9 has 2 columns", 2);
    a.execute("segment_event", "success");
    b.destination_not_ready("Zendesk", 4);
    double accepted = 0, rejected = 0;
    std::string reason;
    for (const auto& family : registry.Collect()) {
        if (family.name == "lsr_rows_accepted_total") accepted = family.metric.at(0).counter.value;
        if (family.name == "lsr_rows_rejected_total") {
            REQUIRE(family.metric.size() == 1);
            rejected = family.metric[0].counter.value;
            reason = family.metric[0].label.at(0).value;
        }
    }
    CHECK(accepted == 5);
    CHECK(rejected == 3);
    CHECK(reason == "line N has N columns");
}
