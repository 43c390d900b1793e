// GCC 12 reports a false "potential null pointer dereference" inside Asio's executor
// comparison (any_executor::equal_ex); the pragma must precede the includes to reach it.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wnull-dereference"
#endif

// How the dispatcher writes a batch's end to the spool: halves of a split, dead letters (a
// terminal answer, the give-up age, a local failure) and a settle written again after a
// failed write. Which answer leads to which end: tests/unit/core/delivery/settle_decision_test.cpp.
#include <catch2/catch.hpp>

#include "dispatcher_fixture.hpp"

using namespace lsr::test;

TEST_CASE("DeliveryDispatcher: a 400 is split until the poisoned event stands alone") {
    Fixture f;
    SECTION("stored plain") {}
    SECTION("stored compressed: inflated, split, both halves stored compressed again") {
        f.store_compressed = true;
    }
    f.stand_in.set_decide([](const StandInRequest& r) {
        StandInAnswer a;
        if (r.body.find("\"userId\":\"p5\"") != std::string::npos) {
            a.status = 400;
            a.body = R"({"error":"invalid event"})";
        }
        return a;
    });
    std::vector<std::string> ids;
    for (int i = 0; i < 8; ++i) ids.push_back("p" + std::to_string(i));
    f.append("wk_alpha", ids, "req-9");
    f.start();
    REQUIRE(wait_until([&] { return f.spool_empty(); }));
    REQUIRE(wait_until([&] {
        std::uint32_t n = 0;
        for (const auto& s : f.settled_copy()) n += s.events;
        return n == 8;
    }));
    auto dead = f.spool->list_dead_letters(10, true);
    REQUIRE(dead.size() == 1);
    CHECK(dead[0].events == 1);
    CHECK(dead[0].status == 400);
    CHECK(dead[0].body == event("p5"));
    CHECK(dead[0].reason.rfind("http_400", 0) == 0);
    std::multiset<std::string> delivered;
    for (const auto& r : f.stand_in.requests()) {
        if (r.status != 200) continue;
        for (const auto& id : ids) {
            if (r.body.find("\"userId\":\"" + id + "\"") != std::string::npos) delivered.insert(id);
        }
    }
    CHECK(delivered.size() == 7);
    CHECK(delivered.count("p5") == 0);
    CHECK(metric(f.registry, "lsr_segment_split_batches_total") == 3);  // 8 -> 4 -> 2 -> 1
    CHECK(metric(f.registry, "lsr_dead_lettered_events_total", "reason", "http_400") == 1);
    CHECK(metric(f.registry, "lsr_delivered_events_total") == 7);
    int dead_settled = 0;
    for (const auto& s : f.settled_copy()) {
        CHECK(s.request_id == "req-9");
        if (s.fate == BatchFate::dead_lettered) ++dead_settled;
    }
    CHECK(dead_settled == 1);
}

TEST_CASE("DeliveryDispatcher: 401 and 501 are dead-lettered at once") {
    Fixture f;
    StandInAnswer e401;
    e401.status = 401;
    StandInAnswer e501;
    e501.status = 501;
    f.stand_in.push(e401);
    f.append("wk_alpha", {"d1", "d2"});
    f.start();
    REQUIRE(wait_until([&] { return f.spool_empty(); }));
    f.stand_in.push(e501);
    f.append("wk_alpha", {"d3"});
    REQUIRE(wait_until([&] { return f.spool->list_dead_letters(10, false).size() == 2; }));
    REQUIRE(wait_until([&] { return f.settled_copy().size() == 2; }));  // metrics are counted by then
    CHECK(f.stand_in.requests().size() == 2);
    CHECK(metric(f.registry, "lsr_dead_lettered_events_total", "reason", "http_401") == 2);
    CHECK(metric(f.registry, "lsr_dead_lettered_events_total", "reason", "http_501") == 1);
    CHECK(metric(f.registry, "lsr_segment_retries_total") == 0);
}

TEST_CASE("DeliveryDispatcher: a batch older than give_up_after_s is dead-lettered on failure") {
    Fixture f;
    f.cfg.retry.give_up_after_s = 2;
    f.stand_in.set_decide([](const StandInRequest&) {
        StandInAnswer a;
        a.status = 503;
        return a;
    });
    f.append("wk_alpha", {"g1", "g2"}, "r-old", wall_ms() - 10'000);
    f.start();
    REQUIRE(wait_until([&] { return f.spool_empty(); }));
    auto dead = f.spool->list_dead_letters(10, false);
    REQUIRE(dead.size() == 1);
    CHECK(dead[0].reason.rfind("gave up after ", 0) == 0);
    CHECK(dead[0].reason.find("http_503") != std::string::npos);
    CHECK(f.stand_in.requests().size() == 1);
    REQUIRE(wait_until([&] { return f.settled_copy().size() == 1; }));
    CHECK(metric(f.registry, "lsr_dead_lettered_events_total", "reason", "gave_up") == 2);
    CHECK(f.settled_copy()[0].fate == BatchFate::dead_lettered);
}

TEST_CASE(
    "DeliveryDispatcher: a batch that cannot be sent for a local reason is dead-lettered; the rest flows") {
    // The spool already holds a batch whose request cannot be built (a 49,200-character write
    // key: Beast refuses its Basic-auth header with std::length_error). It is dead-lettered
    // with the reason, and every other batch, of this key's neighbours, is delivered.
    Fixture f;
    const std::string huge_key(49'200, 'h');
    f.append("wk_alpha", {"a1", "a2"});
    f.append(huge_key, {"h1", "h2", "h3"}, "r-huge");
    f.append("wk_beta", {"b1"}, "r2");
    f.append("wk_alpha", {"a3"});
    f.start();
    REQUIRE(wait_until([&] { return f.spool_empty(); }));
    auto dead = f.spool->list_dead_letters(10, false);
    REQUIRE(dead.size() == 1);
    CHECK(dead[0].write_key == huge_key);
    CHECK(dead[0].events == 3);
    CHECK(dead[0].status == 0);
    CHECK(dead[0].reason.rfind("local: ", 0) == 0);
    CHECK(dead[0].reason.find("field value too large") != std::string::npos);
    const auto reqs = f.stand_in.requests();
    REQUIRE(reqs.size() == 3);
    std::multiset<std::string> bodies;
    for (const auto& r : reqs) bodies.insert(write_key_of(r) + "|" + batch_part(r.body));
    const auto expected = [](const std::string& key, const std::vector<std::string>& ids) {
        return key + "|" + body_of(ids);
    };
    CHECK(bodies == std::multiset<std::string>{expected("wk_alpha", {"a1", "a2"}),
                                               expected("wk_alpha", {"a3"}), expected("wk_beta", {"b1"})});
    REQUIRE(wait_until([&] { return f.settled_copy().size() == 4; }));
    CHECK(metric(f.registry, "lsr_dead_lettered_events_total", "reason", "local") == 3);
    CHECK(metric(f.registry, "lsr_delivered_events_total") == 4);
}

TEST_CASE("DeliveryDispatcher: a settle that failed to write is written again by the dispatcher itself") {
    // As on a full disk: marking batches delivered and rescheduling them fails for a while.
    // Each batch is written again by the dispatcher's own timer once the disk takes writes,
    // without any new batch or notify, and none is sent twice.
    Fixture f;
    std::atomic<bool> disk_full{true};
    std::atomic<int> refused{0};
    std::atomic<int> alpha_calls{0};
    f.stand_in.set_decide([&](const StandInRequest& r) {
        StandInAnswer a;
        if (write_key_of(r) == "wk_alpha" && alpha_calls++ == 0) a.status = 503;
        return a;
    });
    for (int i = 0; i < 6; ++i) f.append(i % 2 == 0 ? "wk_alpha" : "wk_beta", {"s" + std::to_string(i)});
    f.make();
    f.dispatcher->set_settle_fault_for_testing([&](std::string_view) {
        if (!disk_full.load()) return false;
        ++refused;
        return true;
    });
    f.start();
    REQUIRE(wait_until([&] { return refused.load() >= 6; }));  // every first settle failed
    std::this_thread::sleep_for(300ms);
    CHECK_FALSE(f.spool_empty());
    disk_full = false;  // space is back; nothing else happens
    REQUIRE(wait_until([&] { return f.spool_empty(); }, 20s));
    CHECK(f.stand_in.requests().size() == 7);  // six batches, one of them twice (its 503)
    REQUIRE(wait_until([&] { return f.settled_copy().size() == 6; }));
    CHECK(metric(f.registry, "lsr_delivered_events_total") == 6);
}

TEST_CASE(
    "DeliveryDispatcher: delivered batches settle in groups; a failed group is written again batch by "
    "batch") {
    // The first write of delivered batches fails (a group, or a single batch if only one
    // came back); every batch of it is then written on its own, and none is sent twice.
    Fixture f;
    std::atomic<int> writes{0};
    constexpr int kBatches = 12;
    for (int i = 0; i < kBatches; ++i) f.append("wk_alpha", {"g" + std::to_string(i)});
    f.make();
    f.dispatcher->set_settle_fault_for_testing([&](std::string_view op) {
        CHECK(op == "mark_delivered");
        return writes++ == 0;
    });
    f.start();
    REQUIRE(wait_until([&] { return f.spool_empty(); }, 20s));
    REQUIRE(wait_until([&] { return f.settled_copy().size() == kBatches; }));
    CHECK(f.stand_in.requests().size() == kBatches);
    CHECK(writes.load() <= kBatches + 1);  // at most one write per batch, plus the failed one
    CHECK(metric(f.registry, "lsr_delivered_events_total") == kBatches);
    std::set<std::int64_t> ids;
    for (const auto& s : f.settled_copy()) {
        CHECK(s.fate == BatchFate::delivered);
        ids.insert(s.batch_id);
    }
    CHECK(ids.size() == kBatches);
}

TEST_CASE("DeliveryDispatcher: a damaged stored body is dead-lettered, never sent") {
    Fixture f;
    std::string stored;
    {
        std::string events = body_of({"d1", "d2"});
        lsr::core::BodyCompressor compressor(1);
        REQUIRE(compressor.store(events, stored));
    }
    std::string bad_crc = stored;
    bad_crc[5] = static_cast<char>(bad_crc[5] ^ 0x5a);
    std::string bad_marker = stored;
    bad_marker[0] = '\x07';
    for (const std::string* body : {&bad_crc, &bad_marker}) {
        NewBatch b;
        b.write_key = "wk_alpha";
        b.body = *body;
        b.events = 2;
        b.created_ms = f.clock->unix_ms();
        REQUIRE_FALSE(f.spool->append({b}, nullptr));
    }
    f.cfg.gzip_level = 0;  // the compressed one must be inflated (and checked) to be sent plain
    f.start();
    REQUIRE(wait_until([&] { return f.spool_empty(); }));
    CHECK(f.stand_in.requests().empty());
    auto dead = f.spool->list_dead_letters(10, true);
    REQUIRE(dead.size() == 2);
    std::multiset<std::string> reasons;
    for (const auto& d : dead) {
        CHECK(d.body.empty());
        CHECK_FALSE(d.body_error.empty());
        reasons.insert(d.reason);
    }
    CHECK(reasons ==
          std::multiset<std::string>{
              "local: the stored batch body cannot be read: not a stored batch body (first byte 0x07)",
              "local: the stored batch body cannot be read: stored batch body fails its CRC-32 check"});
}
