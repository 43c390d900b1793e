#include "core/sync/sync_event_writer.hpp"

#include <rapidjson/document.h>

#include <catch2/catch.hpp>
#include <set>
#include <vector>

#include "core/mapping/message_id.hpp"
#include "sync_test_events.hpp"

using namespace lsr::core;
using namespace lsr::test;

namespace {

const std::string kBaseline = "looker.example.com|42|segment|wk";
const std::string kRunTimestamp = R"("2026-12-05T11:00:00.000Z")";

SyncRequest audience(AudienceEvents events, std::string key = "churn_risk") {
    SyncRequest r;
    r.mode = SyncMode::audience;
    r.audience_key = std::move(key);
    r.events = events;
    return r;
}

SyncEventWriter writer(const SyncRequest& r, std::int64_t generation = 7) {
    return SyncEventWriter(r, {kBaseline, generation}, kLibrary, kRunTimestamp);
}

SyncRowView view_of(const std::string& event) {
    SyncEventReader reader;
    SyncRowView v;
    std::string error;
    REQUIRE(reader.read(event, v, error));
    return v;
}

std::vector<std::string> rows(SyncEventWriter& w, const std::string& event, SyncEventKind kind) {
    std::vector<std::string> out;
    w.row(event, view_of(event), kind, [&](std::string_view e) { out.emplace_back(e); });
    for (const auto& e : out) {
        rapidjson::Document d;
        d.Parse(e.data(), e.size());
        INFO(e);
        CHECK_FALSE(d.HasParseError());
    }
    return out;
}

std::vector<std::string> exits(SyncEventWriter& w, std::string_view identity, std::uint64_t id_hash) {
    std::vector<std::string> out;
    w.exit(identity, id_hash, [&](std::string_view e) { out.emplace_back(e); });
    return out;
}

std::string hex(std::uint64_t v) {
    std::string s;
    SyncEventWriter::append_hex(s, v);
    return s;
}

std::string expected_id(std::string_view kind, std::string_view type, std::uint64_t id_hash,
                        const std::uint64_t* content, std::int64_t generation = 7) {
    MessageId ids;
    return ids.deterministic({kBaseline, std::to_string(generation), kind, type, hex(id_hash),
                              content ? hex(*content) : std::string()});
}

std::string replaced(std::string s, const std::string& from, const std::string& to) {
    const auto at = s.find(from);
    REQUIRE(at != std::string::npos);
    return s.replace(at, from.size(), to);
}

}  // namespace

TEST_CASE("sync event writer: hex and kind names", "[sync][sync_event_writer]") {
    CHECK(hex(0) == "0000000000000000");
    CHECK(hex(0x0123456789abcdefull) == "0123456789abcdef");
    CHECK(sync_event_kind_name(SyncEventKind::changed) == "changed");
    CHECK(sync_event_kind_name(SyncEventKind::entered) == "entered");
    CHECK(sync_event_kind_name(SyncEventKind::exited) == "exited");
    // One messageId pinned to its text: ids already queued must keep matching after an upgrade.
    MessageId ids;
    CHECK(ids.deterministic({"b", "1", "entered", "identify", "0000000000000001", "0000000000000002"}) ==
          "lsr-e38a6898935d5d9853b6c6b0a040c465");
}

TEST_CASE("sync event writer: changes mode sends the mapped event with a new messageId",
          "[sync][sync_event_writer]") {
    SyncRequest r;
    r.mode = SyncMode::changes;
    auto w = writer(r);
    for (const std::string* e : {&kIdentify, &kTrack, &kGroup, &kHubIdentify}) {
        const SyncRowView v = view_of(*e);
        for (SyncEventKind kind : {SyncEventKind::changed, SyncEventKind::entered}) {
            const auto out = rows(w, *e, kind);
            REQUIRE(out.size() == 1);
            const std::string old_id = e->substr(v.message_id_begin, v.message_id_end - v.message_id_begin);
            const std::string id =
                expected_id(sync_event_kind_name(kind), v.type, v.id_hash, &v.content_hash);
            CHECK(out[0] == replaced(*e, old_id, "\"" + id + "\""));
        }
    }
    // An event without a messageId gets one at its end.
    const std::string bare = R"({"type":"identify","userId":"u","traits":{}})";
    const SyncRowView v = view_of(bare);
    const auto out = rows(w, bare, SyncEventKind::changed);
    CHECK(out[0] == R"({"type":"identify","userId":"u","traits":{},"messageId":")" +
                        expected_id("changed", "identify", v.id_hash, &v.content_hash) + "\"}");
}

TEST_CASE("sync event writer: audience entered, identify and track", "[sync][sync_event_writer]") {
    const SyncRowView v = view_of(kIdentify);
    const std::string ctx = R"("context":{"library":{"name":"looker-segment-relay","version":"1.0.0"}},)";
    const std::string identify = R"({"type":"identify","userId":"u1","anonymousId":"x1",)"
                                 R"("traits":{"email":"a@b.c","plan":"pro","churn_risk":true},)" +
                                 ctx + R"("timestamp":"2026-12-05T10:00:00.000Z","messageId":")" +
                                 expected_id("entered", "identify", v.id_hash, &v.content_hash) + "\"}";
    const std::string track =
        R"({"type":"track","userId":"u1","anonymousId":"x1","event":"Audience Entered",)"
        R"("properties":{"audience_key":"churn_risk","churn_risk":true},)" +
        ctx + R"("timestamp":"2026-12-05T10:00:00.000Z","messageId":")" +
        expected_id("entered", "track", v.id_hash, &v.content_hash) + "\"}";
    auto w = writer(audience(AudienceEvents::identify));
    CHECK(rows(w, kIdentify, SyncEventKind::entered) == std::vector<std::string>{identify});
    w = writer(audience(AudienceEvents::track));
    CHECK(rows(w, kIdentify, SyncEventKind::entered) == std::vector<std::string>{track});
    w = writer(audience(AudienceEvents::both));
    CHECK(rows(w, kIdentify, SyncEventKind::entered) == std::vector<std::string>{identify, track});
    // Changed members get their mapped event, as in changes mode.
    const auto changed = rows(w, kIdentify, SyncEventKind::changed);
    REQUIRE(changed.size() == 1);
    CHECK(changed[0] == replaced(kIdentify, "lsr-00000000000000000000000000000001",
                                 expected_id("changed", "identify", v.id_hash, &v.content_hash)));
}

TEST_CASE("sync event writer: entered from a track row keeps its integrations", "[sync][sync_event_writer]") {
    const SyncRowView v = view_of(kTrack);
    auto w = writer(audience(AudienceEvents::both, "at_risk"));
    const std::string tail =
        R"("context":{"library":{"name":"looker-segment-relay","version":"1.0.0"},"groupId":"acme"},)"
        R"("timestamp":"2026-12-05T10:00:00.000Z","messageId":")";
    CHECK(
        rows(w, kTrack, SyncEventKind::entered) ==
        std::vector<std::string>{
            R"({"type":"identify","anonymousId":"x2","traits":{"score":0.9,"email":"c@d.e","at_risk":true},)" +
                tail + expected_id("entered", "identify", v.id_hash, &v.content_hash) +
                R"(","integrations":{"Braze":false}})",
            R"({"type":"track","anonymousId":"x2","event":"Audience Entered",)"
            R"("properties":{"audience_key":"at_risk","at_risk":true},)" +
                tail + expected_id("entered", "track", v.id_hash, &v.content_hash) +
                R"(","integrations":{"Braze":false}})"});
}

TEST_CASE("sync event writer: a hub row enters in the standard shape", "[sync][sync_event_writer]") {
    const SyncRowView v = view_of(kHubIdentify);
    auto w = writer(audience(AudienceEvents::identify));
    CHECK(
        rows(w, kHubIdentify, SyncEventKind::entered) ==
        std::vector<std::string>{
            R"({"type":"identify","userId":"u4","traits":{"plan":"pro","email":"h@b.c","churn_risk":true},)"
            R"("context":{"library":{"name":"analytics-node","version":"3.5.0"},"app":{"name":"looker/actions",)"
            R"("version":"1"}},"timestamp":"2026-12-05T10:00:00.000Z","messageId":")" +
            expected_id("entered", "identify", v.id_hash, &v.content_hash) + "\"}"});
}

TEST_CASE("sync event writer: a group row enters as its group call", "[sync][sync_event_writer]") {
    const SyncRowView v = view_of(kGroup);
    auto w = writer(audience(AudienceEvents::both));  // audience_events does not apply
    CHECK(
        rows(w, kGroup, SyncEventKind::entered) ==
        std::vector<std::string>{
            R"({"type":"group","userId":"u3","groupId":"acme","traits":{"name":"Acme","seats":12,"churn_risk":true},)"
            R"("context":{"library":{"name":"looker-segment-relay","version":"1.0.0"}},)"
            R"("timestamp":"2026-12-05T10:00:00.000Z","messageId":")" +
            expected_id("entered", "group", v.id_hash, &v.content_hash) + "\"}"});
    // Without traits or messageId: composed.
    const std::string bare = R"({"type":"group","groupId":"g"})";
    const SyncRowView b = view_of(bare);
    CHECK(
        rows(w, bare, SyncEventKind::entered) ==
        std::vector<std::string>{R"({"type":"group","groupId":"g","traits":{"churn_risk":true},"context":)" +
                                 kLibrary + ",\"timestamp\":" + kRunTimestamp + R"(,"messageId":")" +
                                 expected_id("entered", "group", b.id_hash, &b.content_hash) + "\"}"});
}

TEST_CASE("sync event writer: the audience key in the row's traits is replaced",
          "[sync][sync_event_writer]") {
    auto w = writer(audience(AudienceEvents::identify));
    for (const char* traits :
         {R"({"churn_risk":false,"plan":"pro"})", R"({"plan":"pro","churn_risk":"x"})",
          R"({"plan":"pro","churn\u005frisk":1})", R"({"churn_risk":{"a":1},"plan":"pro"})"}) {
        const std::string e = std::string(R"({"type":"identify","userId":"u","traits":)") + traits + "}";
        const auto out = rows(w, e, SyncEventKind::entered);
        REQUIRE(out.size() == 1);
        INFO(out[0]);
        CHECK(out[0].find(R"("traits":{"plan":"pro","churn_risk":true})") != std::string::npos);
    }
    const std::string only = R"({"type":"identify","userId":"u","traits":{"churn_risk":1}})";
    CHECK(rows(w, only, SyncEventKind::entered)[0].find(R"("traits":{"churn_risk":true})") !=
          std::string::npos);
    // A key named audience_key cannot carry both members.
    auto a = writer(audience(AudienceEvents::track, "audience_key"));
    CHECK(rows(a, kIdentify, SyncEventKind::entered)[0].find(
              R"("properties":{"audience_key":"audience_key"})") != std::string::npos);
}

TEST_CASE("sync event writer: exits", "[sync][sync_event_writer]") {
    const std::uint64_t id = 0xfeedull;
    const std::string tail =
        ",\"context\":" + kLibrary + ",\"timestamp\":" + kRunTimestamp + R"(,"messageId":")";
    auto w = writer(audience(AudienceEvents::both));
    CHECK(exits(w, R"("userId":"u1","anonymousId":"x1")", id) ==
          std::vector<std::string>{
              R"({"type":"identify","userId":"u1","anonymousId":"x1","traits":{"churn_risk":false})" + tail +
                  expected_id("exited", "identify", id, nullptr) + "\"}",
              R"({"type":"track","userId":"u1","anonymousId":"x1","event":"Audience Exited",)"
              R"("properties":{"audience_key":"churn_risk","churn_risk":false})" +
                  tail + expected_id("exited", "track", id, nullptr) + "\"}"});
    w = writer(audience(AudienceEvents::track));
    CHECK(exits(w, R"("anonymousId":"x")", id).size() == 1);
    w = writer(audience(AudienceEvents::identify));
    CHECK(exits(w, R"("userId":"u3","groupId":"acme")", id) ==
          std::vector<std::string>{
              R"({"type":"group","userId":"u3","groupId":"acme","traits":{"churn_risk":false})" + tail +
              expected_id("exited", "group", id, nullptr) + "\"}"});
    CHECK(exits(w, "", id).empty());  // known by email only: nothing to address
}

TEST_CASE("sync event writer: messageIds are the same within a run and differ across runs and kinds",
          "[sync][sync_event_writer]") {
    std::set<std::string> ids;
    auto collect = [&](std::int64_t generation, AudienceEvents events) {
        auto w = writer(audience(events), generation);
        std::vector<std::string> out = rows(w, kIdentify, SyncEventKind::entered);
        for (auto& e : rows(w, kIdentify, SyncEventKind::changed)) out.push_back(e);
        for (auto& e : exits(w, view_of(kIdentify).identity_json, view_of(kIdentify).id_hash))
            out.push_back(e);
        std::vector<std::string> found;
        for (const auto& e : out) {
            rapidjson::Document d;
            d.Parse(e.data(), e.size());
            found.emplace_back(d["messageId"].GetString());
        }
        return found;
    };
    const auto first = collect(7, AudienceEvents::both);
    CHECK(first == collect(7, AudienceEvents::both));  // a re-sent execute: the same ids
    REQUIRE(first.size() == 5);  // entered identify + track, changed, exited identify + track
    for (const auto& id : first) CHECK(ids.insert(id).second);
    for (const auto& id : collect(8, AudienceEvents::both)) CHECK(ids.insert(id).second);  // a later run
    // Another content gives another id.
    auto w = writer(audience(AudienceEvents::identify));
    const std::string other = replaced(kIdentify, R"("plan":"pro")", R"("plan":"free")");
    rapidjson::Document d;
    const auto out = rows(w, other, SyncEventKind::entered);
    d.Parse(out[0].data(), out[0].size());
    CHECK(ids.count(d["messageId"].GetString()) == 0);
}
