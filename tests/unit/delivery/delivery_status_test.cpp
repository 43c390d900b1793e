#include "server/delivery/delivery_status.hpp"

#include <catch2/catch.hpp>

#include "core/delivery/write_key_queue.hpp"
#include "server/storage/spool.hpp"

using lsr::core::SettleDecision;
using lsr::core::WriteKeyQueue;
using lsr::server::DeliveryStatus;
using lsr::server::SpoolStats;

TEST_CASE("DeliveryStatus: the document, field by field") {
    constexpr std::int64_t kT = 1'800'000'000'000;
    DeliveryStatus status;
    CHECK(status.json() == R"({"stopping":false,"in_flight":0,"write_keys":[]})");  // before the first poll

    lsr::core::WriteKeyLimits limits;
    limits.requests_per_second = 0;
    limits.max_in_flight = 4;
    WriteKeyQueue alpha("wk_alpha_secret", limits, 0);
    WriteKeyQueue beta("abc\xC3\xA9xyz", limits, 0);  // its short key cuts a character
    const auto step = alpha.next_step(kT);
    REQUIRE(step.kind == WriteKeyQueue::Step::Kind::lease);
    alpha.end_lease(step.count, 1);
    alpha.on_send();
    SettleDecision d;
    d.kind = SettleDecision::Kind::retry;
    d.status = 429;
    d.reason = "http_429: \"slow down\"\n";
    d.congestion = true;
    d.failed_request = true;
    d.pause = true;
    d.delay_ms = 5'000;
    alpha.on_answer(d, kT, alpha.send_epoch());
    alpha.on_settled();
    alpha.hint_due(kT + 5'000);
    beta.set_next_due(WriteKeyQueue::kNever);

    SpoolStats spool;
    spool.batches = 3;
    spool.events = 7;
    spool.bytes = 900;
    spool.dead_letters = 1;
    spool.oldest_created_ms = kT + 1'000 - 61'500;
    DeliveryStatus::Overview o;
    o.stopping = true;
    o.in_flight = 2;
    o.endpoint = "https://api.segment.io";
    o.spool = &spool;
    o.now_ms = kT + 1'000;
    status.publish(o, {&alpha, &beta});
    CHECK(
        status.json() ==
        R"({"stopping":true,"in_flight":2,"endpoint":"https://api.segment.io",)"
        R"("spool":{"batches":3,"events":7,"bytes":900,"dead_letters":1,"oldest_event_age_s":61},)"
        R"("write_keys":[{"key":"wk_a…","due":false,"next_attempt_ms":1800000005000,"in_flight":0,)"
        R"("in_flight_limit":2,"paused_until_ms":1800000005000,"failing":true,"next_probe_ms":1800000000000,)"
        R"("delivered_batches":0,"failed_attempts":1,"dead_lettered_batches":0,)"
        R"("last_error":"http_429: \"slow down\"\n"},)"
        R"({"key":"abc�…","due":false,"next_attempt_ms":null,"in_flight":0,"in_flight_limit":4,)"
        R"("paused_until_ms":0,"failing":false,"next_probe_ms":0,"delivered_batches":0,)"
        R"("failed_attempts":0,"dead_lettered_batches":0,"last_error":""}]})");
}
