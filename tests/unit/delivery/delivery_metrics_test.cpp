#include "server/delivery/delivery_metrics.hpp"

#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <catch2/catch.hpp>
#include <map>
#include <optional>
#include <string>

#include "server/storage/spool.hpp"

using lsr::server::DeliveryMetrics;
using lsr::server::SpoolStats;

namespace {

constexpr std::int64_t kNow = 1'800'000'000'000;

// name{labels} -> value, of every sample in the registry.
std::map<std::string, double> samples(prometheus::Registry& registry) {
    std::map<std::string, double> out;
    for (const auto& family : registry.Collect()) {
        for (const auto& m : family.metric) {
            std::string key = family.name;
            if (!m.label.empty()) {
                key += '{';
                for (std::size_t i = 0; i < m.label.size(); ++i) {
                    if (i) key += ',';
                    key += m.label[i].name + "=" + m.label[i].value;
                }
                key += '}';
            }
            out[key] = family.type == prometheus::MetricType::Counter ? m.counter.value : m.gauge.value;
        }
    }
    return out;
}

std::optional<double> sample(prometheus::Registry& registry, const std::string& key) {
    const auto all = samples(registry);
    const auto it = all.find(key);
    if (it == all.end()) return std::nullopt;
    return it->second;
}

}  // namespace

TEST_CASE("DeliveryMetrics: one metric per spool quantity, the limit and the filesystem's free bytes") {
    prometheus::Registry registry;
    DeliveryMetrics metrics(registry, 2'000'000);
    CHECK(sample(registry, "lsr_spool_limit_bytes") == 2'000'000.0);

    SpoolStats st;
    st.batches = 3;
    st.events = 7;
    st.bytes = 1234;
    st.file_bytes = 65536;
    st.dead_letters = 2;
    st.oldest_created_ms = kNow - 4'500;
    st.filesystem_free_bytes = 987654321;
    metrics.on_spool_stats(st, kNow);
    CHECK(sample(registry, "lsr_spool_queued_bytes") == 1234.0);
    CHECK(sample(registry, "lsr_spool_file_bytes") == 65536.0);
    CHECK(sample(registry, "lsr_spool_filesystem_free_bytes") == 987654321.0);
    CHECK(sample(registry, "lsr_queue_events") == 7.0);
    CHECK(sample(registry, "lsr_queue_batches") == 3.0);
    CHECK(sample(registry, "lsr_dead_letters") == 2.0);
    CHECK(sample(registry, "lsr_oldest_queued_event_age_seconds") == 4.5);
    // The old two-quantity family is gone.
    for (const auto& [key, value] : samples(registry)) CHECK(key.rfind("lsr_spool_bytes", 0) != 0);

    // Free bytes that cannot be read leave the last figure standing.
    st.filesystem_free_bytes.reset();
    metrics.on_spool_stats(st, kNow);
    CHECK(sample(registry, "lsr_spool_filesystem_free_bytes") == 987654321.0);
}

TEST_CASE("DeliveryMetrics: the age of each write key's oldest event, by its short form only") {
    prometheus::Registry registry;
    DeliveryMetrics metrics(registry, 1);
    metrics.on_write_key_ages({{"wk_alpha_secret", kNow - 2'000}, {"zz_beta_secret", kNow - 30'000}}, kNow);
    CHECK(sample(registry, "lsr_write_key_oldest_event_age_seconds{write_key=wk_a\u2026}") == 2.0);
    CHECK(sample(registry, "lsr_write_key_oldest_event_age_seconds{write_key=zz_b\u2026}") == 30.0);

    // Never the key itself, anywhere in the text.
    const std::string text = prometheus::TextSerializer().Serialize(registry.Collect());
    CHECK(text.find("alpha") == std::string::npos);
    CHECK(text.find("beta") == std::string::npos);

    // The ages move with the clock; a key delivered (no longer listed) loses its series.
    metrics.on_write_key_ages({{"zz_beta_secret", kNow - 30'000}}, kNow + 10'000);
    CHECK(sample(registry, "lsr_write_key_oldest_event_age_seconds{write_key=zz_b\u2026}") == 40.0);
    CHECK_FALSE(sample(registry, "lsr_write_key_oldest_event_age_seconds{write_key=wk_a\u2026}"));

    // Nothing queued at all: no series.
    metrics.on_write_key_ages({}, kNow + 20'000);
    for (const auto& [key, value] : samples(registry))
        CHECK(key.rfind("lsr_write_key_oldest_event_age_seconds", 0) != 0);

    // Back again: a fresh series.
    metrics.on_write_key_ages({{"wk_alpha_secret", kNow + 19'000}}, kNow + 20'000);
    CHECK(sample(registry, "lsr_write_key_oldest_event_age_seconds{write_key=wk_a\u2026}") == 1.0);
}

TEST_CASE("DeliveryMetrics: keys sharing a short form share one series, the oldest of them") {
    prometheus::Registry registry;
    DeliveryMetrics metrics(registry, 1);
    metrics.on_write_key_ages({{"abcd_one", kNow - 5'000}, {"abcd_two", kNow - 9'000}, {"ab", kNow - 1'000}},
                              kNow);
    CHECK(sample(registry, "lsr_write_key_oldest_event_age_seconds{write_key=abcd\u2026}") == 9.0);
    // A key of 4 characters or fewer is all masked, as in the logs.
    CHECK(sample(registry, "lsr_write_key_oldest_event_age_seconds{write_key=**\u2026}") == 1.0);
    // A batch stamped in the future (a clock step) counts as new, not negative.
    metrics.on_write_key_ages({{"abcd_one", kNow + 5'000}}, kNow);
    CHECK(sample(registry, "lsr_write_key_oldest_event_age_seconds{write_key=abcd\u2026}") == 0.0);
}

TEST_CASE("DeliveryMetrics: a multi-byte character cut by the short form gives valid UTF-8") {
    prometheus::Registry registry;
    DeliveryMetrics metrics(registry, 1);
    metrics.on_write_key_ages({{"abc\u00e9def", kNow}}, kNow);  // the 4th byte is inside é
    const auto all = samples(registry);
    REQUIRE(all.size() > 0);
    for (const auto& [key, value] : all) {
        if (key.rfind("lsr_write_key_oldest_event_age_seconds", 0) == 0) {
            CHECK(key.find("abc") != std::string::npos);
            CHECK(key.find('\xc3') == std::string::npos);  // no lone lead byte
        }
    }
}
