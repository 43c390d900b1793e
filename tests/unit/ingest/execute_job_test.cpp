// The execute job without sockets: a fake reply records the answer, the spool is real.
#include "server/ingest/execute_job.hpp"

#include <boost/asio/post.hpp>
#include <future>

#include "core/hub/execute_report.hpp"
#include "core/json_out.hpp"
#include "ingest_fixture.hpp"

using namespace ingest_test;
using lsr::core::ExecuteReport;
using lsr::server::ExecuteJob;
using lsr::server::ExecuteSource;
using lsr::server::ExecuteStop;

namespace {

std::string json_detail(int rows) {
    std::string data;
    for (int i = 0; i < rows; ++i) {
        if (i) data += ",";
        data += "{\"users.id\":{\"value\":" + std::to_string(i + 1) + "},\"users.plan\":{\"value\":\"pro\"}}";
    }
    return R"({"ran_at":"2026-11-30T10:00:00+00:00","fields":{"dimensions":[{"name":"users.id","tags":["user_id"]},)"
           R"({"name":"users.plan","tags":[]}]},"data":[)" +
           data + "]}";
}

std::string quoted(const std::string& s) {
    std::string out;
    lsr::core::JsonOut(out).string(s);
    return out;
}

std::string execute(const std::string& result, const std::string& key = "wk-1") {
    return R"({"type":"query","data":{"segment_write_key":)" + quoted(key) +
           R"(},"attachment":{"mimetype":"application/json","extension":"json","data":)" + quoted(result) +
           "}}";
}

ExecuteSource action() {
    ExecuteSource s;
    s.label = "segment_identify";
    return s;
}

std::shared_ptr<FakeReply> run(Ingest& in, std::string body, ExecuteSource source = action()) {
    auto reply = std::make_shared<FakeReply>(in.io, std::move(body));
    ExecuteJob::run(in.deps, reply, std::move(source));
    REQUIRE(reply->wait());
    return reply;
}

}  // namespace

TEST_CASE("ExecuteJob maps an attachment, spools its batches, tells delivery and answers", "[execute_job]") {
    Ingest in;
    auto reply = run(in, execute(json_detail(3)));
    CHECK(reply->status() == 200);
    CHECK(reply->answers() == 1);
    CHECK(reply->out() == ExecuteReport::looker_body(true, "3 rows: 3 accepted, 0 rejected."));
    CHECK(in.spool->stats().events == 3);
    CHECK(in.notifications() == std::vector<std::string>{"wk-1"});
}

TEST_CASE("ExecuteJob refuses a request the hub would refuse, before reading rows", "[execute_job]") {
    Ingest in;
    auto reply = run(in, R"({"data":{"segment_write_key":"wk"}})");
    CHECK(reply->status() == 404);
    CHECK(reply->out() ==
          ExecuteReport::error_body("No request type specified. The request must be of type: \"query\"."));
    auto bad = run(in, "{");
    CHECK(bad->status() == 404);
    CHECK(bad->out() == ExecuteReport::error_body("Request body must be valid JSON."));
    CHECK(in.spool->stats().batches == 0);
    CHECK(in.notifications().empty());
}

TEST_CASE("ExecuteJob answers a refused write key in the hub's validation shape", "[execute_job]") {
    Ingest in;
    auto reply = run(in, execute(json_detail(1), "wk with space"));
    CHECK(reply->status() == 400);
    CHECK(reply->out().find(R"("validation_errors":{"segment_write_key":)") != std::string::npos);
    CHECK(in.spool->stats().batches == 0);
}

TEST_CASE("ExecuteJob reports a mapper failure with what was accepted before it", "[execute_job]") {
    Ingest in;
    auto reply = run(in, execute(R"({"fields":{"dimensions":[]},"data":[{"a":{"value":1}}]})"));
    CHECK(reply->status() == 200);
    const std::string out = reply->out();
    CHECK(out.rfind(R"({"looker":{"success":false,"message":")", 0) == 0);
    CHECK(out.find("No rows were accepted.") != std::string::npos);
}

TEST_CASE("ExecuteJob commits the rows mapped before a mapping error, as its answer says", "[execute_job]") {
    // The hub's mapping stops at a row whose tagged cell is missing (row 3); rows 1 and 2
    // were mapped, are spooled, and the answer counts them.
    Ingest in([](lsr::config::Config& c) { c.mapping.mode = lsr::core::MappingMode::hub; });
    const std::string result =
        R"({"ran_at":"2026-11-30T10:00:00+00:00","fields":{"dimensions":[{"name":"users.id","tags":["user_id"]},)"
        R"({"name":"users.email","tags":["email"]}]},"data":[{"users.id":{"value":1},"users.email":{"value":"a@x.io"}},)"
        R"({"users.id":{"value":2},"users.email":{"value":"b@x.io"}},{"users.id":{"value":3}}]})";
    auto reply = run(in, execute(result));
    const std::string out = reply->out();
    CHECK(out.rfind(R"({"looker":{"success":false,"message":")", 0) == 0);
    CHECK(out.find("2 rows were accepted before that and will be delivered.") != std::string::npos);
    CHECK(in.spool->stats().events == 2);
    CHECK(in.notifications() == std::vector<std::string>{"wk-1"});
}

TEST_CASE("ExecuteJob under ack: delivered answers once Segment settled every event", "[execute_job]") {
    Ingest in([](lsr::config::Config& c) {
        c.delivery.ack = lsr::config::AckMode::delivered;
        c.delivery.ack_delivered_timeout_ms = 60'000;
    });
    auto reply = std::make_shared<FakeReply>(in.io, execute(json_detail(3)));
    auto job = std::make_shared<ExecuteJob>(in.deps, reply, action());
    const std::string id = job->request_id();
    job->start();
    job.reset();
    // Nothing is answered before delivery settles (the spool holds the batch).
    for (int i = 0; i < 200 && in.spool->stats().events < 3; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    REQUIRE(in.spool->stats().events == 3);
    CHECK_FALSE(reply->wait(std::chrono::seconds(0)));
    in.settled.record(id, 2, true);
    CHECK_FALSE(reply->wait(std::chrono::seconds(0)));
    in.settled.record(id, 1, true);
    REQUIRE(reply->wait());
    CHECK(reply->out() ==
          ExecuteReport::looker_body(
              true, "3 rows: 3 accepted, 0 rejected. All 3 events were delivered to Segment."));
}

TEST_CASE("ExecuteJob under ack: delivered gives the honest partial answer at its deadline",
          "[execute_job]") {
    Ingest in([](lsr::config::Config& c) {
        c.delivery.ack = lsr::config::AckMode::delivered;
        c.delivery.ack_delivered_timeout_ms = 1000;
    });
    auto reply = std::make_shared<FakeReply>(in.io, execute(json_detail(2)));
    auto job = std::make_shared<ExecuteJob>(in.deps, reply, action());
    const std::string id = job->request_id();
    job->start();
    job.reset();
    for (int i = 0; i < 200 && in.spool->stats().events < 2; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    REQUIRE(in.spool->stats().events == 2);
    in.settled.record(id, 1, false);
    CHECK_FALSE(reply->wait(std::chrono::seconds(0)));
    in.clock.advance(std::chrono::milliseconds(1000));  // the poll sees the deadline passed
    REQUIRE(reply->wait());
    CHECK(reply->out() ==
          ExecuteReport::looker_body(false,
                                     "2 rows: 2 accepted, 0 rejected. Delivered to Segment so far: 0 of 2 "
                                     "events; 1 event was refused by Segment (dead letters); the others are "
                                     "still queued and will be delivered."));
}

TEST_CASE("ExecuteJob refuses the work when the spool has no room", "[execute_job]") {
    Ingest in;
    fs::create_directories(in.tmp.dir / "small");
    in.spool = open_spool(in.tmp.dir / "small", 1);
    // The deps name the spool by reference: a second set for the small one.
    auto deps = std::make_shared<lsr::server::ExecuteDeps>(*in.deps);
    auto small = std::make_shared<lsr::server::ExecuteDeps>(lsr::server::ExecuteDeps{deps->config,
                                                                                     deps->log,
                                                                                     deps->metrics,
                                                                                     deps->clock,
                                                                                     deps->io,
                                                                                     deps->workers,
                                                                                     *in.spool,
                                                                                     deps->draining,
                                                                                     deps->settled,
                                                                                     deps->spooled,
                                                                                     nullptr,
                                                                                     {}});
    auto reply = std::make_shared<FakeReply>(in.io, execute(json_detail(3)));
    ExecuteJob::run(small, reply, action());
    REQUIRE(reply->wait());
    CHECK(reply->status() == 503);
    CHECK(reply->retry_after());
    CHECK(reply->out().find("The relay's spool is full (spool.max_bytes)") != std::string::npos);
}

TEST_CASE("ExecuteJob stopped by a drain before it read anything answers the reason", "[execute_job]") {
    Ingest in;
    auto reply = std::make_shared<FakeReply>(in.io, execute(json_detail(3)));
    auto job = std::make_shared<ExecuteJob>(in.deps, reply, action());
    // The workers are busy until the stop arrived, so the job starts reading after it.
    std::promise<void> hold;
    auto held = hold.get_future().share();
    asio::post(in.workers, [held] { held.wait(); });
    asio::post(in.workers, [held] { held.wait(); });
    job->start();
    reply->stop(ExecuteStop::shutting_down);
    hold.set_value();
    job.reset();
    REQUIRE(reply->wait());
    CHECK(reply->out().find("The relay is shutting down, so the rest of the result was not read; send it "
                            "again. No rows were accepted.") != std::string::npos);
}
