#include "core/delivery/batch_builder.hpp"

#include <catch2/catch.hpp>

#include "core/delivery/batch_envelope.hpp"

using lsr::core::Batch;
using lsr::core::BatchBuilder;
using lsr::core::BatchEnvelope;
using lsr::core::BatchLimits;

TEST_CASE("batch builder: closes on the event count", "[batch]") {
    BatchBuilder b(BatchLimits{3, 475000, 32000, 512});
    CHECK_FALSE(b.add("{\"a\":1}"));
    CHECK_FALSE(b.add("{\"a\":2}"));
    CHECK_FALSE(b.add("{\"a\":3}"));
    auto first = b.add("{\"a\":4}");
    REQUIRE(first);
    CHECK(first->events == 3);
    CHECK(first->body == "{\"a\":1},\n{\"a\":2},\n{\"a\":3}");
    auto rest = b.flush();
    REQUIRE(rest);
    CHECK(rest->events == 1);
    CHECK(rest->body == "{\"a\":4}");
    CHECK_FALSE(b.flush());
}

TEST_CASE("batch builder: closes on bytes including the envelope reserve", "[batch]") {
    const std::string ev(100, 'x');
    BatchBuilder b(BatchLimits{2500, 1000, 32000, 500});
    int batches = 0;
    std::size_t events = 0;
    for (int i = 0; i < 20; ++i) {
        if (auto done = b.add(ev)) {
            ++batches;
            events += done->events;
            CHECK(done->body.size() + 500 <= 1000);
        }
    }
    if (auto done = b.flush()) events += done->events;
    CHECK(batches > 0);
    CHECK(events == 20);
}

TEST_CASE("batch builder: default limits hold 2500 small events", "[batch]") {
    BatchBuilder b(BatchLimits{});
    std::size_t flushed = 0;
    for (int i = 0; i < 6000; ++i)
        if (auto done = b.add("{\"type\":\"identify\",\"userId\":\"1\"}")) {
            CHECK(done->events == 2500);
            CHECK(BatchEnvelope::count_events(done->body) == 2500);
            ++flushed;
        }
    CHECK(flushed == 2);
    CHECK(b.flush()->events == 1000);
}

TEST_CASE("batch builder: an oversized event travels alone", "[batch]") {
    BatchBuilder b(BatchLimits{2500, 475000, 10, 0});
    CHECK_FALSE(b.add("{\"a\":1}"));
    auto first = b.add("{\"big\":\"xxxxxxxxxxxxxxxxxxxxxxxx\"}");
    REQUIRE(first);
    CHECK(first->events == 1);
    auto alone = b.add("{\"a\":2}");
    REQUIRE(alone);
    CHECK(alone->events == 1);
    CHECK(alone->body.find("big") != std::string::npos);
    CHECK(b.flush()->body == "{\"a\":2}");
}

TEST_CASE("batch envelope: build, count, list and split", "[batch]") {
    const std::string body = "{\"a\":1},\n{\"b\":\",\\n\"},\n{\"c\":3}";
    CHECK(BatchEnvelope::build(body, "2026-12-01T06:55:22.123Z", "wk\"1") ==
          "{\"sentAt\":\"2026-12-01T06:55:22.123Z\",\"writeKey\":\"wk\\\"1\",\"batch\":[" + body + "]}");
    CHECK(BatchEnvelope::prefix("T", "k") == "{\"sentAt\":\"T\",\"writeKey\":\"k\",\"batch\":[");
    CHECK(BatchEnvelope::size(body.size(), "wk\"1") ==
          BatchEnvelope::build(body, "2026-12-01T06:55:22.123Z", "wk\"1").size());
    CHECK(BatchEnvelope::count_events(body) == 3);
    CHECK(BatchEnvelope::count_events("") == 0);
    auto list = BatchEnvelope::events(body);
    REQUIRE(list.size() == 3);
    CHECK(list[1] == "{\"b\":\",\\n\"}");
    auto [left, right] = BatchEnvelope::split_half(body);
    CHECK(left == "{\"a\":1},\n{\"b\":\",\\n\"}");
    CHECK(right == "{\"c\":3}");
    auto [one, none] = BatchEnvelope::split_half("{\"a\":1}");
    CHECK(one == "{\"a\":1}");
    CHECK(none.empty());
}

TEST_CASE("batch builder: a recycled body is reused for the next batch", "[batch]") {
    BatchBuilder b(BatchLimits{2, 475000, 32000, 512});
    CHECK_FALSE(b.add("{\"a\":1}"));
    CHECK_FALSE(b.add("{\"a\":2}"));
    auto first = b.add("{\"a\":3}");
    REQUIRE(first);
    b.recycle(std::move(first->body));
    CHECK_FALSE(b.add("{\"a\":4}"));
    auto second = b.flush();
    REQUIRE(second);
    CHECK(second->body == "{\"a\":3},\n{\"a\":4}");
    CHECK_FALSE(b.add("{\"a\":5}"));
}

TEST_CASE("batch builder: a body handed back is the next batch's memory", "[batch]") {
    BatchBuilder b(BatchLimits{10, 4096, 1000, 64});
    CHECK_FALSE(b.add("{\"a\":1}"));
    auto first = b.flush();
    REQUIRE(first);
    CHECK(first->body.capacity() >= 4096);  // reserved once, not grown event by event
    const char* const memory = first->body.data();
    b.recycle(std::move(first->body));
    CHECK_FALSE(b.add("{\"b\":2}"));
    auto second = b.flush();
    REQUIRE(second);
    CHECK(second->body == "{\"b\":2}");
    CHECK(static_cast<const void*>(second->body.data()) == static_cast<const void*>(memory));
}
