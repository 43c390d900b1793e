#include "core/delivery/settle_decision.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

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

SettleDecision::Batch batch(std::uint32_t events, std::uint32_t attempts = 0, std::int64_t age_ms = 1000) {
    return SettleDecision::Batch{events, attempts, kNow - age_ms};
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
