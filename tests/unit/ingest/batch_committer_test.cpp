// The batch committer against a real spool in a temp dir.
#include "server/ingest/batch_committer.hpp"

#include "core/delivery/stored_body.hpp"
#include "ingest_fixture.hpp"

using namespace ingest_test;
using lsr::server::BatchCommitter;
using lsr::server::SpoolErrc;

namespace {

lsr::core::Batch batch(std::uint32_t events, std::size_t bytes = 100) {
    return lsr::core::Batch{std::string(bytes, 'e'), events};
}

// Bodies stored as they are (segment.gzip_level 0): these tests count bytes and batches.
lsr::config::SegmentConfig stored_plain() {
    lsr::config::SegmentConfig cfg;
    cfg.gzip_level = 0;
    return cfg;
}

}  // namespace

TEST_CASE("BatchCommitter commits a few batches at a time and tells delivery", "[batch_committer]") {
    TempDir tmp;
    auto spool = open_spool(tmp.dir);
    lsr::core::ManualClock clock(1'800'000'000'000);
    std::vector<std::string> told;
    BatchCommitter c(
        *spool, clock, "req-1", [&](const std::string& key) { told.push_back(key); }, stored_plain(),
        nullptr);
    c.set_write_key("wk-a");
    for (std::size_t i = 0; i + 1 < BatchCommitter::kBatchesPerCommit; ++i) CHECK_FALSE(c.append(batch(2)));
    CHECK(spool->stats().batches == 0);  // still pending
    CHECK(told.empty());
    CHECK_FALSE(c.append(batch(2)));  // the eighth commits the group
    CHECK(spool->stats().batches == BatchCommitter::kBatchesPerCommit);
    CHECK(told == std::vector<std::string>{"wk-a"});
    CHECK_FALSE(c.append(batch(3)));
    CHECK_FALSE(c.commit());
    CHECK(c.batches() == BatchCommitter::kBatchesPerCommit + 1);
    CHECK(c.events() == 2 * BatchCommitter::kBatchesPerCommit + 3);
    CHECK(spool->stats().events == c.events());
    CHECK(told.size() == 2);
    CHECK_FALSE(c.commit());  // nothing pending: nothing told
    CHECK(told.size() == 2);

    auto leased = spool->lease_due("wk-a", clock.unix_ms(), 100);
    REQUIRE(leased.size() == c.batches());
    for (const auto& b : leased) {
        CHECK(b.request_id == "req-1");
        CHECK(b.created_ms == 1'800'000'000'000);  // the injected clock
    }
}

TEST_CASE("BatchCommitter commits a group early when it is large", "[batch_committer]") {
    TempDir tmp;
    auto spool = open_spool(tmp.dir);
    lsr::core::ManualClock clock;
    BatchCommitter c(*spool, clock, "req", nullptr, stored_plain(), nullptr);
    c.set_write_key("wk");
    CHECK_FALSE(c.append(batch(1, BatchCommitter::kBytesPerCommit)));
    CHECK(spool->stats().batches == 1);
}

TEST_CASE("BatchCommitter takes what still fits of a refused group, then stops", "[batch_committer]") {
    TempDir tmp;
    auto spool = open_spool(tmp.dir, 20 << 20);
    lsr::core::ManualClock clock;
    int told = 0;
    BatchCommitter c(
        *spool, clock, "req", [&](const std::string&) { ++told; }, stored_plain(), nullptr);
    c.set_write_key("wk");
    // Groups of four 1 MB batches (kBytesPerCommit): the group that no longer fits whole is
    // taken one batch at a time.
    std::error_code ec;
    int appended = 0;
    for (; appended < 40 && !ec; ++appended) ec = c.append(batch(10, 1 << 20));
    CHECK(ec == SpoolErrc::full);
    CHECK(c.error() == SpoolErrc::full);
    CHECK(c.batches() > 0);
    CHECK(c.batches() % 4 != 0);                   // part of the last group went in
    CHECK(spool->stats().batches == c.batches());  // the count is exact
    CHECK(c.events() == 10 * c.batches());
    CHECK(told == static_cast<int>(c.batches() / 4 + 1));
    CHECK(c.append(batch(1)) == SpoolErrc::full);  // stopped for good
    CHECK(spool->stats().batches == c.batches());
}

TEST_CASE("BatchCommitter deflates a large body once, stores it compressed, hands the plain one back",
          "[batch_committer]") {
    TempDir tmp;
    auto spool = open_spool(tmp.dir);
    lsr::core::ManualClock clock(1'800'000'000'000);  // after the spool's own "now": all due
    lsr::config::SegmentConfig cfg;                   // gzip_level 1, gzip_min_bytes 64 KiB
    lsr::core::BatchBuilder builder(lsr::core::BatchLimits{});
    BatchCommitter c(*spool, clock, "req", nullptr, cfg, &builder);
    c.set_write_key("wk");
    std::string large;
    std::uint32_t n = 0;
    while (large.size() < 200'000) {
        if (n > 0) large += ",\n";
        large += R"({"type":"identify","userId":"u)" + std::to_string(n++) + R"(","traits":{"plan":"pro"}})";
    }
    lsr::core::Batch big{large, n};
    big.body.reserve(500'000);  // above BatchLimits::max_bytes: the builder keeps it as it is
    const char* const memory = big.body.data();
    const std::string small_body = R"({"type":"identify","userId":"s"})";
    CHECK_FALSE(c.append(std::move(big)));
    CHECK_FALSE(c.append(lsr::core::Batch{small_body, 1}));
    CHECK_FALSE(c.commit());
    auto leased = spool->lease_due("wk", clock.unix_ms(), 10);
    REQUIRE(leased.size() == 2);
    CHECK(lsr::core::StoredBody::compressed(leased[0].body));
    CHECK(leased[0].body.size() * 5 < large.size());
    CHECK(spool->stats().bytes == leased[0].body.size() + small_body.size());
    std::string events;
    std::string error;
    REQUIRE(lsr::core::StoredBody::decode(leased[0].body, events, error));
    CHECK(events == large);
    CHECK(leased[1].body == small_body);  // at or below gzip_min_bytes: plain
    // The next batch reuses the large body's memory instead of a fresh buffer.
    CHECK_FALSE(builder.add(R"({"a":1})"));
    CHECK(static_cast<const void*>(builder.flush()->body.data()) == static_cast<const void*>(memory));

    SECTION("gzip_level 0 stores every body plain") {
        cfg.gzip_level = 0;
        BatchCommitter plain(*spool, clock, "req2", nullptr, cfg, nullptr);
        plain.set_write_key("wk0");
        CHECK_FALSE(plain.append(lsr::core::Batch{large, n}));
        CHECK_FALSE(plain.commit());
        auto got = spool->lease_due("wk0", clock.unix_ms(), 10);
        REQUIRE(got.size() == 1);
        CHECK(got[0].body == large);
    }
}
