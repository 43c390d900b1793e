// SyncRun against a real spool in a temp dir: what a run sends, what it stages and commits, and
// that a dry run or an aborted run changes nothing.
#include "server/ingest/sync_run.hpp"

#include <string>
#include <vector>

#include "ingest_fixture.hpp"
#include "server/storage/sync_store.hpp"

using namespace ingest_test;
using lsr::server::SyncRun;
using lsr::server::SyncStore;

namespace {

std::string identify(const std::string& user, const std::string& plan) {
    return R"({"type":"identify","userId":")" + user + R"(","traits":{"plan":")" + plan +
           R"("},"context":{"library":{"name":"t"}},"timestamp":"2026-12-01T06:00:00.000Z","messageId":"m-)" +
           user + R"("})";
}

SyncRun::Setup setup(lsr::core::SyncMode mode, std::int64_t run_id) {
    SyncRun::Setup s;
    s.request.mode = mode;
    s.request.audience_key = "vip";
    s.key = {"looker.example.com", "42", "segment_event", "wk-a"};
    s.title = "VIPs";
    s.run_id = run_id;
    s.timestamp_json = "\"2026-12-05T00:00:00.000Z\"";
    return s;
}

struct Sent {
    std::vector<std::string> events;
    SyncRun::Emit emit() {
        return [this](std::string_view e) { events.emplace_back(e); };
    }
};

// One whole run of `rows` (user, plan): the events it sends; committed unless `dry`.
std::vector<std::string> run(SyncStore* store, lsr::core::SyncMode mode, std::int64_t run_id,
                             const std::vector<std::pair<std::string, std::string>>& rows,
                             lsr::core::SyncCounts* counts = nullptr, bool dry = false) {
    auto s = setup(mode, run_id);
    s.dry_run = dry;
    SyncRun r(store, s);
    bool busy = true;
    REQUIRE_FALSE(r.open(busy));
    REQUIRE_FALSE(busy);
    Sent sent;
    for (const auto& [user, plan] : rows) REQUIRE_FALSE(r.on_event(identify(user, plan), sent.emit()));
    REQUIRE_FALSE(r.guard());
    REQUIRE_FALSE(r.finish_rows(sent.emit()));
    if (!dry) REQUIRE_FALSE(r.commit({}, 1'800'000'000'000));
    if (counts) *counts = r.counts();
    return sent.events;
}

}  // namespace

TEST_CASE("SyncRun sends new and changed rows and moves the baseline", "[sync_run]") {
    TempDir tmp;
    auto spool = open_spool(tmp.dir);
    SyncStore store(*spool);
    lsr::core::SyncCounts c;
    auto first = run(&store, lsr::core::SyncMode::changes, 1, {{"u1", "a"}, {"u2", "b"}, {"u3", "c"}}, &c);
    CHECK(first.size() == 3);
    CHECK(c.added == 3);

    auto second = run(&store, lsr::core::SyncMode::changes, 2, {{"u2", "b"}, {"u3", "C"}, {"u4", "d"}}, &c);
    REQUIRE(second.size() == 2);
    CHECK(second[0].find("\"userId\":\"u3\"") != std::string::npos);
    CHECK(second[1].find("\"userId\":\"u4\"") != std::string::npos);
    CHECK(c.added == 1);
    CHECK(c.changed == 1);
    CHECK(c.unchanged == 1);
    CHECK(c.removed == 1);  // u1: out of the baseline, no event in `changes`

    auto third = run(&store, lsr::core::SyncMode::changes, 3, {{"u2", "b"}, {"u3", "C"}, {"u4", "d"}}, &c);
    CHECK(third.empty());
    CHECK(c.unchanged == 3);
}

TEST_CASE("SyncRun in audience mode sends the exits of those who left", "[sync_run]") {
    TempDir tmp;
    auto spool = open_spool(tmp.dir);
    SyncStore store(*spool);
    run(&store, lsr::core::SyncMode::audience, 1, {{"u1", "a"}, {"u2", "b"}});
    lsr::core::SyncCounts c;
    auto second = run(&store, lsr::core::SyncMode::audience, 2, {{"u2", "b"}}, &c);
    REQUIRE(second.size() == 1);
    CHECK(second[0].rfind(R"({"type":"identify","userId":"u1","traits":{"vip":false})", 0) == 0);
    // The exit carries the rows' timestamp, not the receive time.
    CHECK(second[0].find("\"timestamp\":\"2026-12-01T06:00:00.000Z\"") != std::string::npos);
    CHECK(c.removed == 1);
}

TEST_CASE("SyncRun: a dry run and an aborted run leave the baseline as it was", "[sync_run]") {
    TempDir tmp;
    auto spool = open_spool(tmp.dir);
    SyncStore store(*spool);
    run(&store, lsr::core::SyncMode::changes, 1, {{"u1", "a"}});
    auto dry = run(&store, lsr::core::SyncMode::changes, 2, {{"u1", "b"}, {"u2", "c"}}, nullptr, true);
    CHECK(dry.size() == 2);
    {
        SyncRun r(&store, setup(lsr::core::SyncMode::changes, 3));
        bool busy = false;
        REQUIRE_FALSE(r.open(busy));
        Sent sent;
        REQUIRE_FALSE(r.on_event(identify("u1", "z"), sent.emit()));
        REQUIRE_FALSE(r.finish_rows(sent.emit()));
        REQUIRE_FALSE(r.abort({}));
    }
    lsr::core::SyncCounts c;
    auto again = run(&store, lsr::core::SyncMode::changes, 4, {{"u1", "a"}}, &c);
    CHECK(again.empty());
    CHECK(c.unchanged == 1);
}

TEST_CASE("SyncRun: one run of a baseline at a time in a process", "[sync_run]") {
    TempDir tmp;
    auto spool = open_spool(tmp.dir);
    SyncStore store(*spool);
    SyncRun a(&store, setup(lsr::core::SyncMode::changes, 1));
    bool busy = true;
    REQUIRE_FALSE(a.open(busy));
    CHECK_FALSE(busy);
    {
        SyncRun b(&store, setup(lsr::core::SyncMode::changes, 2));
        REQUIRE_FALSE(b.open(busy));
        CHECK(busy);
    }
    auto other = setup(lsr::core::SyncMode::changes, 3);
    other.key.write_key = "wk-b";  // another baseline
    SyncRun c(&store, other);
    REQUIRE_FALSE(c.open(busy));
    CHECK_FALSE(busy);
}

TEST_CASE("SyncRun with no store compares with an empty baseline", "[sync_run]") {
    auto s = setup(lsr::core::SyncMode::audience, 0);
    s.dry_run = true;
    SyncRun r(nullptr, s);
    bool busy = true;
    REQUIRE_FALSE(r.open(busy));
    Sent sent;
    REQUIRE_FALSE(r.on_event(identify("u1", "a"), sent.emit()));
    REQUIRE_FALSE(r.finish_rows(sent.emit()));
    REQUIRE(sent.events.size() == 1);
    CHECK(sent.events[0].find("\"vip\":true") != std::string::npos);
}
