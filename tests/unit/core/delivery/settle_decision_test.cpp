#include "core/delivery/settle_decision.hpp"

#include <catch2/catch.hpp>
#include <deque>
#include <string>
#include <vector>

#include "core/delivery/body_compressor.hpp"
#include "core/delivery/stored_body.hpp"

using lsr::core::BackoffPolicy;
using lsr::core::SettleDecision;
using Kind = SettleDecision::Kind;

namespace {

constexpr std::int64_t kNow = 1'700'000'000'000;

// A uniform source that hands out the given values in turn and counts the draws.
struct Draws {
    std::vector<double> values;
    std::size_t taken = 0;
    BackoffPolicy policy(std::uint32_t base_ms = 1000, std::uint32_t max_ms = 60'000) {
        return BackoffPolicy(base_ms, max_ms, [this] { return values.at(taken++ % values.size()); });
    }
};

lsr::core::RetrySettings retry_config() {
    lsr::core::RetrySettings r;
    r.base_delay_ms = 1000;
    r.max_delay_ms = 60'000;
    r.retry_after_cap_ms = 300'000;
    r.give_up_after_s = 3600;
    return r;
}

SettleDecision::Answer status(int code, std::string_view body = {}) {
    SettleDecision::Answer a;
    a.status = code;
    a.body_excerpt = body;
    return a;
}

SettleDecision::Answer no_answer(std::string_view error) {
    SettleDecision::Answer a;
    a.answered = false;
    a.status = 0;
    a.error = error;
    return a;
}

// A stored body of `n` events, as a split reads it.
const std::string& body_of(std::uint32_t n) {
    static std::deque<std::string> bodies;  // grows without moving what it holds
    while (bodies.size() <= n) {
        std::string b;
        for (std::size_t i = 0; i < bodies.size(); ++i) b += (i == 0 ? "" : ",\n") + std::string("{\"i\":1}");
        bodies.push_back(b);
    }
    return bodies[n];
}

SettleDecision::Batch batch(std::uint32_t events, std::uint32_t attempts = 0, std::int64_t age_ms = 1000) {
    return SettleDecision::Batch{events, attempts, kNow - age_ms, body_of(events)};
}

SettleDecision decide(const SettleDecision::Answer& a, const SettleDecision::Batch& b, Draws& draws) {
    BackoffPolicy policy = draws.policy();
    return SettleDecision::decide(a, b, retry_config(), kNow, policy);
}

}  // namespace

TEST_CASE("SettleDecision: a 2xx delivers, draws no jitter and is no congestion") {
    Draws draws{{0.5}};
    for (int code : {200, 202, 299}) {
        const SettleDecision d = decide(status(code), batch(10, 3), draws);
        CHECK(d.kind == Kind::deliver);
        CHECK(d.status == code);
        CHECK_FALSE(d.congestion);
        CHECK_FALSE(d.failed_request);
        CHECK_FALSE(d.pause);
        CHECK(d.metric_reason.empty());
    }
    CHECK(draws.taken == 0);
}

TEST_CASE("SettleDecision: a local failure dead-letters the batch, whatever the status") {
    Draws draws{{0.5}};
    SettleDecision::Answer a = status(503);
    a.local = true;
    a.error = "build: bad header";
    a.retry_after = "10";
    const SettleDecision d = decide(a, batch(5, 2, 10 * 3600 * 1000), draws);
    CHECK(d.kind == Kind::local_failure);
    CHECK(d.status == 0);
    CHECK(d.reason == "local: build: bad header");
    CHECK(d.metric_reason == "local");
    CHECK_FALSE(d.congestion);
    CHECK_FALSE(d.failed_request);
    CHECK(draws.taken == 0);
}

TEST_CASE("SettleDecision: a 400 or 413 splits a batch of many and rejects a single event") {
    Draws draws{{0.5}};
    for (int code : {400, 413}) {
        const std::string http = "http_" + std::to_string(code);
        const SettleDecision many = decide(status(code, "bad event"), batch(2), draws);
        CHECK(many.kind == Kind::split);
        CHECK(many.status == code);
        CHECK(many.reason == http + ": bad event");
        CHECK_FALSE(many.congestion);
        const SettleDecision one = decide(status(code, "bad event"), batch(1), draws);
        CHECK(one.kind == Kind::reject);
        CHECK(one.reason == http + ": bad event");
        CHECK(one.metric_reason == http);
    }
    CHECK(draws.taken == 0);
}

TEST_CASE("SettleDecision: terminal answers are rejected; 501 and 505 count as congestion too") {
    Draws draws{{0.5}};
    const SettleDecision unauthorized = decide(status(401, "Unauthorized"), batch(3), draws);
    CHECK(unauthorized.kind == Kind::reject);
    CHECK(unauthorized.metric_reason == "http_401");
    CHECK(unauthorized.reason == "http_401: Unauthorized");
    CHECK_FALSE(unauthorized.congestion);
    for (int code : {501, 505}) {
        const SettleDecision d = decide(status(code), batch(3), draws);
        CHECK(d.kind == Kind::reject);
        CHECK(d.metric_reason == "http_" + std::to_string(code));
        CHECK(d.congestion);
        CHECK_FALSE(d.failed_request);
    }
    CHECK(draws.taken == 0);
}

TEST_CASE("SettleDecision: the body excerpt in a reason is cut at 160 characters") {
    Draws draws{{0.5}};
    const std::string body(400, 'x');
    const SettleDecision d = decide(status(401, body), batch(1), draws);
    CHECK(d.reason == "http_401: " + std::string(SettleDecision::kDetailChars, 'x'));
    const std::string error(400, 'e');
    const SettleDecision net = decide(no_answer(error), batch(1), draws);
    CHECK(net.reason == "network: " + error);  // the error text is kept whole
}

TEST_CASE("SettleDecision: a retryable answer without a wait retries after the batch's backoff") {
    SECTION("no answer: status 0, congestion, probe jitter first, then the backoff") {
        Draws draws{{0.25, 0.5}};
        const SettleDecision d = decide(no_answer("connect: refused"), batch(4, 2), draws);
        CHECK(d.kind == Kind::retry);
        CHECK(d.status == 0);
        CHECK(d.reason == "network: connect: refused");
        CHECK(d.congestion);
        CHECK(d.failed_request);
        CHECK(d.probe_jitter == 0.25);
        CHECK_FALSE(d.pause);
        CHECK(d.delay_ms == 2000);  // 0.5 * min(60 s, 1 s * 2^2)
        CHECK(draws.taken == 2);
    }
    SECTION("a 5xx with no Retry-After") {
        Draws draws{{0.0, 0.999}};
        const SettleDecision d = decide(status(503, "busy"), batch(4, 0), draws);
        CHECK(d.kind == Kind::retry);
        CHECK(d.status == 503);
        CHECK(d.reason == "http_503: busy");
        CHECK(d.congestion);
        CHECK(d.probe_jitter == 0.0);
        CHECK(d.delay_ms == 999);
    }
    SECTION("408 is retried without counting as congestion") {
        Draws draws{{0.5}};
        const SettleDecision d = decide(status(408), batch(4, 10), draws);
        CHECK(d.kind == Kind::retry);
        CHECK_FALSE(d.congestion);
        CHECK(d.failed_request);
        CHECK(d.delay_ms == 30'000);  // capped at max_delay_ms
    }
}

TEST_CASE("SettleDecision: Retry-After pauses the key on any retryable answer") {
    for (int code : {429, 503, 408, 0}) {
        Draws draws{{0.5}};
        SettleDecision::Answer a = code == 0 ? no_answer("timeout") : status(code);
        a.retry_after = "7";
        const SettleDecision d = decide(a, batch(4, 1), draws);
        INFO("status " << code);
        CHECK(d.kind == Kind::retry);
        if (code == 0) {
            CHECK_FALSE(d.pause);  // no answer: no header to honour
            CHECK(draws.taken == 2);
        } else {
            CHECK(d.pause);
            CHECK(d.delay_ms == 7000);
            CHECK(draws.taken == 1);  // the probe jitter only: no backoff drawn
        }
    }
}

TEST_CASE("SettleDecision: X-RateLimit-Reset pauses on a 429 only") {
    Draws draws{{0.5}};
    SettleDecision::Answer limited = status(429);
    limited.rate_limit_reset = "5";
    const SettleDecision on_429 = decide(limited, batch(4, 0), draws);
    CHECK(on_429.pause);
    CHECK(on_429.delay_ms == 5000);

    SettleDecision::Answer busy = status(503);
    busy.rate_limit_reset = "5";
    const SettleDecision on_503 = decide(busy, batch(4, 0), draws);
    CHECK_FALSE(on_503.pause);
    CHECK(on_503.delay_ms == 500);  // 0.5 * 1 s
}

TEST_CASE("SettleDecision: a Retry-After is capped by retry_after_cap_ms; an unusable one is ignored") {
    Draws draws{{0.5}};
    SettleDecision::Answer far = status(429);
    far.retry_after = "100000";
    const SettleDecision capped = decide(far, batch(4, 0), draws);
    CHECK(capped.pause);
    CHECK(capped.delay_ms == 300'000);

    SettleDecision::Answer junk = status(429);
    junk.retry_after = "soon";
    const SettleDecision ignored = decide(junk, batch(4, 0), draws);
    CHECK_FALSE(ignored.pause);
    CHECK(ignored.delay_ms == 500);
}

TEST_CASE("SettleDecision: a retryable answer for a batch older than give_up_after_s gives up") {
    Draws draws{{0.5}};
    SettleDecision::Answer a = status(503, "busy");
    a.retry_after = "5";
    const SettleDecision d = decide(a, batch(4, 6, 3601 * 1000), draws);
    CHECK(d.kind == Kind::give_up);
    CHECK(d.status == 503);
    CHECK(d.reason == "gave up after 3601 s and 7 attempts: http_503: busy");
    CHECK(d.metric_reason == "gave_up");
    CHECK(d.failed_request);  // still a failed request for the key's health
    CHECK(d.congestion);
    CHECK_FALSE(d.pause);
    CHECK(draws.taken == 1);  // the probe jitter, no backoff

    // Exactly at the age limit it is still retried; a terminal answer is rejected, not given up.
    CHECK(decide(status(503), batch(4, 0, 3600 * 1000), draws).kind == Kind::retry);
    CHECK(decide(status(401), batch(4, 0, 3601 * 1000), draws).kind == Kind::reject);
}

// The cases the dispatcher once checked through a stand-in Segment and a stopwatch, as rows:
// what each answer decides, with the delays the stopwatch measured.
namespace {

struct Row {
    const char* name;
    int status;  // 0: no answer
    const char* retry_after;
    const char* rate_limit_reset;
    std::uint32_t attempts;
    std::uint32_t base_ms;
    std::uint32_t max_ms;
    double jitter;
    Kind kind;
    bool pause;
    std::int64_t delay_ms;
    double retry_after_s;
};

const Row kRows[] = {
    // Backoff with the jitter pinned at 0.999: ~150 ms, then ~300 ms.
    {"503, first failure, jitter 0.999", 503, "", "", 0, 150, 1000, 0.999, Kind::retry, false, 149, 0},
    {"503, second failure, jitter 0.999", 503, "", "", 1, 150, 1000, 0.999, Kind::retry, false, 299, 0},
    {"backoff reaches max_delay_ms", 503, "", "", 5, 150, 1000, 0.999, Kind::retry, false, 999, 0},
    // Retry-After pauses the write key for that long (the whole key: see WriteKeyQueue).
    {"429 with Retry-After: 1", 429, "1", "", 0, 20, 100, 0.5, Kind::retry, true, 1000, 1.0},
    // X-RateLimit-Reset only on a 429; Retry-After on any retryable answer.
    {"503 with X-RateLimit-Reset: 5 (informational)", 503, "", "5", 0, 20, 100, 0.5, Kind::retry, false, 10,
     0},
    {"429 with X-RateLimit-Reset: 1", 429, "", "1", 1, 20, 100, 0.5, Kind::retry, true, 1000, 1.0},
    {"503 with Retry-After: 1", 503, "1", "", 2, 20, 100, 0.5, Kind::retry, true, 1000, 1.0},
    // A dropped connection or a timeout: no answer, backoff.
    {"no answer", 0, "", "", 1, 20, 100, 0.5, Kind::retry, false, 20, 0},
    {"500", 500, "", "", 0, 20, 100, 0.5, Kind::retry, false, 10, 0},
    // Terminal answers go at once: no delay, no pause.
    {"401", 401, "", "", 0, 20, 100, 0.5, Kind::reject, false, 0, 0},
    {"501", 501, "", "", 0, 20, 100, 0.5, Kind::reject, false, 0, 0},
    {"200", 200, "5", "5", 3, 20, 100, 0.5, Kind::deliver, false, 0, 0},
};

}  // namespace

TEST_CASE("SettleDecision: table of answers, delays and pauses") {
    for (const Row& row : kRows) {
        INFO(row.name);
        SettleDecision::Answer a = row.status == 0 ? no_answer("read: end of stream") : status(row.status);
        a.retry_after = row.retry_after;
        a.rate_limit_reset = row.rate_limit_reset;
        lsr::core::RetrySettings retry = retry_config();
        retry.base_delay_ms = row.base_ms;
        retry.max_delay_ms = row.max_ms;
        BackoffPolicy backoff(row.base_ms, row.max_ms, [&] { return row.jitter; });
        const SettleDecision d = SettleDecision::decide(a, batch(1, row.attempts), retry, kNow, backoff);
        CHECK(d.kind == row.kind);
        CHECK(d.pause == row.pause);
        CHECK(d.delay_ms == row.delay_ms);
        CHECK(d.retry_after_s == row.retry_after_s);
        if (d.kind == Kind::retry) {
            CHECK(d.next_attempt_ms == kNow + row.delay_ms);
        }
    }
}

TEST_CASE("SettleDecision: a 400 splits a batch of many into halves, down to the single bad event") {
    Draws draws{{0.5}};
    std::string body;
    for (int i = 0; i < 8; ++i) {
        if (i > 0) body += ",\n";
        body += R"({"userId":"p)" + std::to_string(i) + R"("})";
    }
    SettleDecision::Batch b = batch(8);
    b.body = body;
    const SettleDecision eight = decide(status(400, "invalid event"), b, draws);
    REQUIRE(eight.kind == Kind::split);
    CHECK(eight.halves.first_events == 4);
    CHECK(eight.halves.second_events == 4);
    CHECK(eight.halves.first + ",\n" + eight.halves.second == body);
    CHECK(eight.reason == "http_400: invalid event");
    CHECK(eight.log_severity == SettleDecision::Severity::none);

    // 8 -> 4 -> 2 -> 1: the half holding p5 is split again until p5 stands alone.
    SettleDecision::Batch two = batch(2);
    two.body = R"({"userId":"p4"},
{"userId":"p5"})";
    const SettleDecision pair = decide(status(400), two, draws);
    REQUIRE(pair.kind == Kind::split);
    CHECK(pair.halves.first == R"({"userId":"p4"})");
    CHECK(pair.halves.second == R"({"userId":"p5"})");
    CHECK(pair.halves.first_events == 1);
    CHECK(pair.halves.second_events == 1);

    SettleDecision::Batch alone = batch(1);
    alone.body = R"({"userId":"p5"})";
    const SettleDecision dead = decide(status(400), alone, draws);
    CHECK(dead.kind == Kind::reject);
    CHECK(dead.status == 400);
    CHECK(dead.metric_reason == "http_400");
    CHECK(dead.dead_letter());
}

TEST_CASE("SettleDecision: a batch of many whose body does not split is rejected") {
    Draws draws{{0.5}};
    SettleDecision::Batch b = batch(3);
    b.body = R"({"userId":"only one"})";
    const SettleDecision d = decide(status(413, "too large"), b, draws);
    CHECK(d.kind == Kind::reject);
    CHECK(d.reason == "http_413: too large");
    CHECK(d.metric_reason == "http_413");
    CHECK(d.log_severity == SettleDecision::Severity::warn);
}

TEST_CASE("SettleDecision: a batch whose answer cannot be handled is a local failure") {
    const SettleDecision d = SettleDecision::local("bad_alloc");
    CHECK(d.kind == Kind::local_failure);
    CHECK(d.status == 0);
    CHECK(d.reason == "local: bad_alloc");
    CHECK(d.metric_reason == "local");
    CHECK(d.dead_letter());
    CHECK(d.log_severity == SettleDecision::Severity::error);
}

TEST_CASE("SettleDecision: each decision names its log line") {
    Draws draws{{0.5}};
    using Severity = SettleDecision::Severity;
    const SettleDecision first = decide(status(503), batch(1, 0), draws);
    CHECK(first.log_message == "segment batch failed; will retry");
    CHECK(first.log_severity == Severity::info);  // the first failure of a batch is news
    CHECK(decide(status(503), batch(1, 1), draws).log_severity == Severity::debug);
    const SettleDecision rejected = decide(status(401), batch(1), draws);
    CHECK(rejected.log_message == "segment rejected a batch; dead-lettered");
    CHECK(rejected.log_severity == Severity::warn);
    const SettleDecision old = decide(status(503), batch(1, 0, 3601 * 1000), draws);
    CHECK(old.log_message == "segment batch too old to retry; dead-lettered");
    CHECK(old.log_severity == Severity::warn);
    SettleDecision::Answer local = status(0);
    local.local = true;
    local.error = "build: refused";
    const SettleDecision failed = decide(local, batch(1), draws);
    CHECK(failed.log_message == "a batch could not be sent for a local reason; dead-lettered");
    CHECK(failed.log_severity == Severity::error);
    CHECK(decide(status(200), batch(1), draws).log_severity == Severity::none);
}

TEST_CASE("SettleDecision: a batch ten seconds old gives up under a two-second limit") {
    Draws draws{{0.5}};
    lsr::core::RetrySettings retry = retry_config();
    retry.give_up_after_s = 2;
    BackoffPolicy backoff = draws.policy();
    const SettleDecision d = SettleDecision::decide(status(503), batch(2, 0, 10'000), retry, kNow, backoff);
    CHECK(d.kind == Kind::give_up);
    CHECK(d.reason.rfind("gave up after ", 0) == 0);
    CHECK(d.reason.find("http_503") != std::string::npos);
    CHECK(d.metric_reason == "gave_up");
    CHECK(d.dead_letter());
}

TEST_CASE("SettleDecision: a compressed body is inflated, split, and its halves stored compressed") {
    Draws draws{{0.5}};
    std::string body;
    for (int i = 0; i < 300; ++i) {
        if (i > 0) body += ",\n";
        body += R"({"type":"track","userId":"p)" + std::to_string(i) + R"(","event":"Plan Changed"})";
    }
    std::string stored;
    {
        std::string work = body;
        lsr::core::BodyCompressor c(1);
        REQUIRE(c.store(work, stored));
    }
    SettleDecision::Batch b = batch(300);
    b.body = stored;
    const SettleDecision d = decide(status(413, "too large"), b, draws);
    REQUIRE(d.kind == Kind::split);
    CHECK(d.halves.first_events == 150);
    CHECK(d.halves.second_events == 150);
    CHECK(lsr::core::StoredBody::compressed(d.halves.first));
    CHECK(lsr::core::StoredBody::compressed(d.halves.second));
    std::string first;
    std::string second;
    std::string error;
    REQUIRE(lsr::core::StoredBody::decode(d.halves.first, first, error));
    REQUIRE(lsr::core::StoredBody::decode(d.halves.second, second, error));
    CHECK(first + ",\n" + second == body);

    SECTION("a damaged one is rejected with the damage in its reason") {
        std::string bad = stored;
        bad[5] = static_cast<char>(bad[5] ^ 0x33);
        b.body = bad;
        const SettleDecision r = decide(status(400, "invalid"), b, draws);
        CHECK(r.kind == Kind::reject);
        CHECK(r.reason == "http_400: invalid; stored batch body fails its CRC-32 check");
    }
}
