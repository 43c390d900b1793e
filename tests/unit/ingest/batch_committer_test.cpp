// The batch committer against a real spool in a temp dir.
#include "server/ingest/batch_committer.hpp"

#include "ingest_fixture.hpp"

using namespace ingest_test;
using lsr::server::BatchCommitter;
using lsr::server::SpoolErrc;

namespace {

lsr::core::Batch batch(std::uint32_t events, std::size_t bytes = 100) {
    return lsr::core::Batch{std::string(bytes, 'e'), events};
}

}  // namespace

TEST_CASE("BatchCommitter commits a few batches at a time and tells delivery", "[batch_committer]") {
    TempDir tmp;
    auto spool = open_spool(tmp.dir);
    lsr::core::ManualClock clock(1'800'000'000'000);
    std::vector<std::string> told;
    BatchCommitter c(*spool, clock, "req-1", [&](const std::string& key) { told.push_back(key); });
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
    BatchCommitter c(*spool, clock, "req", nullptr);
    c.set_write_key("wk");
    CHECK_FALSE(c.append(batch(1, BatchCommitter::kBytesPerCommit)));
    CHECK(spool->stats().batches == 1);
}

TEST_CASE("BatchCommitter takes what still fits of a refused group, then stops", "[batch_committer]") {
    TempDir tmp;
    auto spool = open_spool(tmp.dir, 20 << 20);
    lsr::core::ManualClock clock;
    int told = 0;
    BatchCommitter c(*spool, clock, "req", [&](const std::string&) { ++told; });
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
