#include "core/delivery/delivery_outcome.hpp"

#include <catch2/catch.hpp>

using lsr::core::DeliveryAction;
using lsr::core::DeliveryOutcome;

namespace {

// The table of core/delivery/delivery_outcome.hpp written out independently, for every status 0..999.
DeliveryAction expected(int status, std::uint32_t events) {
    if (status >= 200 && status < 300) return DeliveryAction::done;
    if (status == 400 || status == 413)
        return events > 1 ? DeliveryAction::split : DeliveryAction::dead_letter;
    if (status == 408 || status == 410 || status == 429 || status == 460) return DeliveryAction::retry;
    if (status >= 400 && status < 500) return DeliveryAction::dead_letter;
    if (status == 501 || status == 505) return DeliveryAction::dead_letter;
    return DeliveryAction::retry;
}

}  // namespace

TEST_CASE("DeliveryOutcome: every status from 0 to 999 for 0, 1, 2 and many events") {
    int checked = 0;
    for (int status = 0; status < 1000; ++status) {
        for (std::uint32_t events : {0u, 1u, 2u, 2500u}) {
            INFO("status " << status << " events " << events);
            REQUIRE(DeliveryOutcome::classify(status, events) == expected(status, events));
            ++checked;
        }
    }
    CHECK(checked == 4000);
}

TEST_CASE("DeliveryOutcome: the named cases of the contract") {
    CHECK(DeliveryOutcome::classify(200, 10) == DeliveryAction::done);
    CHECK(DeliveryOutcome::classify(201, 10) == DeliveryAction::done);
    CHECK(DeliveryOutcome::classify(204, 10) == DeliveryAction::done);
    CHECK(DeliveryOutcome::classify(299, 10) == DeliveryAction::done);
    // no answer: network error or timeout
    CHECK(DeliveryOutcome::classify(0, 10) == DeliveryAction::retry);
    CHECK(DeliveryOutcome::classify(408, 10) == DeliveryAction::retry);
    CHECK(DeliveryOutcome::classify(429, 10) == DeliveryAction::retry);
    CHECK(DeliveryOutcome::classify(500, 10) == DeliveryAction::retry);
    CHECK(DeliveryOutcome::classify(502, 10) == DeliveryAction::retry);
    CHECK(DeliveryOutcome::classify(503, 10) == DeliveryAction::retry);
    CHECK(DeliveryOutcome::classify(504, 10) == DeliveryAction::retry);
    CHECK(DeliveryOutcome::classify(599, 10) == DeliveryAction::retry);
    CHECK(DeliveryOutcome::classify(501, 10) == DeliveryAction::dead_letter);
    CHECK(DeliveryOutcome::classify(505, 10) == DeliveryAction::dead_letter);
    CHECK(DeliveryOutcome::classify(400, 2) == DeliveryAction::split);
    CHECK(DeliveryOutcome::classify(413, 2500) == DeliveryAction::split);
    CHECK(DeliveryOutcome::classify(400, 1) == DeliveryAction::dead_letter);
    CHECK(DeliveryOutcome::classify(413, 1) == DeliveryAction::dead_letter);
    CHECK(DeliveryOutcome::classify(400, 0) == DeliveryAction::dead_letter);
    for (int s : {401, 402, 403, 404, 405, 409, 411, 412, 414, 415, 422, 451, 499}) {
        INFO(s);
        CHECK(DeliveryOutcome::classify(s, 10) == DeliveryAction::dead_letter);
        CHECK(DeliveryOutcome::classify(s, 1) == DeliveryAction::dead_letter);
    }
}

TEST_CASE("DeliveryOutcome: documented choices for 410, 460, 511, 3xx and odd codes") {
    CHECK(DeliveryOutcome::classify(410, 10) == DeliveryAction::retry);
    CHECK(DeliveryOutcome::classify(460, 10) == DeliveryAction::retry);
    CHECK(DeliveryOutcome::classify(511, 10) == DeliveryAction::retry);
    CHECK(DeliveryOutcome::classify(301, 10) == DeliveryAction::retry);
    CHECK(DeliveryOutcome::classify(307, 1) == DeliveryAction::retry);
    CHECK(DeliveryOutcome::classify(100, 1) == DeliveryAction::retry);
    CHECK(DeliveryOutcome::classify(600, 1) == DeliveryAction::retry);
    CHECK(DeliveryOutcome::classify(-1, 1) == DeliveryAction::retry);
}

TEST_CASE("DeliveryOutcome: status classes for metrics") {
    CHECK(DeliveryOutcome::status_class(0) == "network");
    CHECK(DeliveryOutcome::status_class(100) == "1xx");
    CHECK(DeliveryOutcome::status_class(200) == "2xx");
    CHECK(DeliveryOutcome::status_class(302) == "3xx");
    CHECK(DeliveryOutcome::status_class(429) == "4xx");
    CHECK(DeliveryOutcome::status_class(599) == "5xx");
    CHECK(DeliveryOutcome::status_class(600) == "other");
    CHECK(DeliveryOutcome::status_class(42) == "other");
}

TEST_CASE("DeliveryOutcome: reasons") {
    CHECK(DeliveryOutcome::reason(400, "") == "http_400");
    CHECK(DeliveryOutcome::reason(400, "bad json") == "http_400: bad json");
    CHECK(DeliveryOutcome::reason(0, "timeout") == "network: timeout");
    CHECK(DeliveryOutcome::reason(0, "") == "network");
    CHECK(lsr::core::to_string(DeliveryAction::split) == "split");
    CHECK(lsr::core::to_string(DeliveryAction::dead_letter) == "dead_letter");
}
