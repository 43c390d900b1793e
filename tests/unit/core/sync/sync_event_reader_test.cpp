#include "core/sync/sync_event_reader.hpp"

#include <catch2/catch.hpp>

#include "core/sync/hash64.hpp"
#include "sync_test_events.hpp"

using lsr::core::Hash64;
using lsr::core::SyncEventReader;
using lsr::core::SyncRowView;
using namespace lsr::test;

namespace {

SyncRowView read_ok(const std::string& event) {
    SyncEventReader reader;
    SyncRowView view;
    std::string error;
    INFO(event);
    REQUIRE(reader.read(event, view, error));
    CHECK(error.empty());
    return view;
}

std::string span(const std::string& event, std::size_t begin, std::size_t end) {
    return begin == SyncRowView::npos ? std::string("<none>") : event.substr(begin, end - begin);
}

std::uint64_t content(const std::string& event) {
    return read_ok(event).content_hash;
}

std::string replaced(std::string s, const std::string& from, const std::string& to) {
    const auto at = s.find(from);
    REQUIRE(at != std::string::npos);
    return s.replace(at, from.size(), to);
}

}  // namespace

TEST_CASE("sync event reader: the standard identify", "[sync][sync_event_reader]") {
    const SyncRowView v = read_ok(kIdentify);
    CHECK(v.type == "identify");
    CHECK(v.identity_key == "u:u1");
    CHECK(v.identity_json == R"("userId":"u1","anonymousId":"x1")");
    CHECK(v.id_hash == Hash64::of("u:u1"));
    CHECK(span(kIdentify, v.payload_begin, v.payload_end) == R"({"email":"a@b.c","plan":"pro"})");
    CHECK(span(kIdentify, v.context_begin, v.context_end) == kLibrary);
    CHECK(span(kIdentify, v.timestamp_begin, v.timestamp_end) == R"("2026-12-05T10:00:00.000Z")");
    CHECK(span(kIdentify, v.message_id_begin, v.message_id_end) ==
          R"("lsr-00000000000000000000000000000001")");
    CHECK(span(kIdentify, v.integrations_begin, v.integrations_end) == "<none>");
    REQUIRE(v.payload_members.size() == 2);
    CHECK(span(kIdentify, v.payload_members[0].begin, v.payload_members[0].end) == R"("email":"a@b.c")");
    CHECK(span(kIdentify, v.payload_members[1].begin, v.payload_members[1].end) == R"("plan":"pro")");
}

TEST_CASE("sync event reader: track, group and hub shapes", "[sync][sync_event_reader]") {
    SyncRowView v = read_ok(kTrack);
    CHECK(v.type == "track");
    CHECK(v.identity_key == "a:x2");
    CHECK(v.identity_json == R"("anonymousId":"x2")");
    CHECK(span(kTrack, v.payload_begin, v.payload_end) == R"({"score":0.9,"email":"c@d.e"})");
    CHECK(span(kTrack, v.integrations_begin, v.integrations_end) == R"({"Braze":false})");

    v = read_ok(kGroup);
    CHECK(v.type == "group");
    CHECK(v.is_group());
    CHECK(v.identity_key == "g:acme");
    CHECK(v.identity_json == R"("userId":"u3","groupId":"acme")");
    CHECK(span(kGroup, v.payload_begin, v.payload_end) == R"({"name":"Acme","seats":12})");

    v = read_ok(kHubIdentify);
    CHECK(v.type == "identify");
    CHECK(v.identity_key == "u:u4");
    CHECK(v.identity_json == R"("userId":"u4")");  // null anonymousId absent; groupId only for group calls
    CHECK(span(kHubIdentify, v.payload_begin, v.payload_end) == R"({"plan":"pro","email":"h@b.c"})");
    CHECK(span(kHubIdentify, v.message_id_begin, v.message_id_end) ==
          R"("node-0123456789abcdef0123456789abcdef-uuid")");
    CHECK(span(kHubIdentify, v.timestamp_begin, v.timestamp_end) == R"("2026-12-05T10:00:00.000Z")");

    // A hub group call with a numeric groupId: its text.
    const std::string hub_group =
        R"({"userId":"u5","groupId":42,"traits":{"n":1},"context":{},"timestamp":"t","type":"group","messageId":"m"})";
    v = read_ok(hub_group);
    CHECK(v.identity_key == "g:42");
    CHECK(v.identity_json == R"("userId":"u5","groupId":42)");
}

TEST_CASE("sync event reader: identity precedence", "[sync][sync_event_reader]") {
    struct Case {
        const char* event;
        const char* key;
        const char* identity_json;
    };
    const Case cases[] = {
        {R"({"type":"identify","userId":"u","anonymousId":"a","traits":{"email":"e"}})", "u:u",
         R"("userId":"u","anonymousId":"a")"},
        {R"({"type":"identify","anonymousId":"a","userId":"u"})", "u:u", R"("anonymousId":"a","userId":"u")"},
        {R"({"type":"identify","userId":null,"anonymousId":"a"})", "a:a", R"("anonymousId":"a")"},
        {R"({"type":"identify","userId":"","anonymousId":"a"})", "a:a", R"("anonymousId":"a")"},
        {R"({"type":"identify","userId":12,"anonymousId":"a"})", "a:a", R"("anonymousId":"a")"},
        {R"({"type":"identify","userId":false,"traits":{"email":"t@x"}})", "e:t@x", ""},
        {R"({"type":"track","properties":{"email":"p@x"},"context":{"traits":{"email":"c@x"}}})", "e:p@x",
         ""},
        {R"({"type":"track","context":{"traits":{"email":"c@x"}}})", "e:c@x", ""},
        {R"({"type":"identify","traits":{"email":"t@x"},"properties":{"email":"p@x"}})", "e:t@x", ""},
        {R"({"type":"identify","traits":{"a":{"email":"deep"}},"context":{"traits":{"email":"c@x"}}})",
         "e:c@x", ""},
        {R"({"type":"group","userId":"u","groupId":"g"})", "g:g", R"("userId":"u","groupId":"g")"},
        {R"({"type":"group","userId":"u","groupId":null})", "u:u", R"("userId":"u")"},
        {R"({"type":"identify","userId":"u","groupId":"g"})", "u:u", R"("userId":"u")"},
        {R"({"userId" : "u" , "type":"identify"})", "u:u", R"("userId" : "u")"},
        {R"({"type":"identify","userId":"caf\u00e9"})", "u:caf\xc3\xa9", R"("userId":"caf\u00e9")"},
    };
    for (const Case& c : cases) {
        const SyncRowView v = read_ok(c.event);
        CHECK(v.identity_key == c.key);
        CHECK(v.identity_json == c.identity_json);
        CHECK(v.id_hash == Hash64::of(c.key));
    }
}

TEST_CASE("sync event reader: refusals", "[sync][sync_event_reader]") {
    struct Case {
        std::string event;
        const char* error;
    };
    const Case cases[] = {
        {"", "the event is not a JSON object"},
        {"[1]", "the event is not a JSON object"},
        {"\"x\"", "the event is not a JSON object"},
        {R"({"type":"identify","userId":"u")",
         "the event is not valid JSON: Missing a comma or '}' after an "
         "object member. (at byte 31)"},
        {R"({"type":"identify","userId":"u"} x)",
         "the event is not valid JSON: text after the object (at byte 33)"},
        {std::string(R"({"type":"identify","userId":"u"})") + '\0',
         "the event is not valid JSON: text after the "
         "object (at byte 32)"},
        {R"({"type":"identify","traits":{"plan":"pro"}})",
         "the event has no userId, anonymousId, email or (for a group call) groupId"},
        {std::string(200, '[') + std::string(200, ']'), "the event is not a JSON object"},
        {"{\"a\":" + std::string(200, '[') + std::string(200, ']') + "}",
         "the event nests deeper than 128 levels"},
    };
    SyncEventReader reader;
    SyncRowView view;
    for (const Case& c : cases) {
        std::string error;
        INFO(c.event);
        CHECK_FALSE(reader.read(c.event, view, error));
        CHECK(error == c.error);
    }
    // Trailing whitespace is fine; the reader is reusable after a failure.
    std::string error;
    CHECK(reader.read(kIdentify + " \n", view, error));
    CHECK(view.identity_key == "u:u1");
}

TEST_CASE("sync event reader: content ignores messageId, timestamp, sentAt and context.library only",
          "[sync][sync_event_reader]") {
    const std::uint64_t base = content(kIdentify);
    // Ids of the send: no change.
    CHECK(content(replaced(kIdentify, "lsr-00000000000000000000000000000001", "lsr-ffff")) == base);
    CHECK(content(replaced(kIdentify, "2026-12-05T10:00:00.000Z", "2027-01-01T00:00:00.000Z")) == base);
    CHECK(content(replaced(kIdentify, R"(,"messageId":"lsr-00000000000000000000000000000001")", "")) == base);
    CHECK(content(replaced(kIdentify, R"("timestamp")", R"("sentAt":{"a":[1]},"timestamp")")) == base);
    CHECK(content(replaced(kIdentify, R"("plan":"pro")", R"("plan" : "pro")")) == base);     // whitespace
    CHECK(content(replaced(kIdentify, R"("plan":"pro")", R"("plan":"p\u0072o")")) == base);  // escapes
    // The relay's own name and version (an upgrade): no change.
    CHECK(content(replaced(kIdentify, R"("version":"1.0.0")", R"("version":"1.0.1")")) == base);
    CHECK(content(replaced(kIdentify, R"({"library":{"name":"looker-segment-relay","version":"1.0.0"}})",
                           "{}")) == base);
    // Everything else: a change.
    const std::string changes[][2] = {
        {R"("plan":"pro")", R"("plan":"free")"},
        {R"("plan":"pro")", R"("plan":"pro ")"},
        {R"("email":"a@b.c","plan":"pro")", R"("plan":"pro","email":"a@b.c")"},  // key order
        {R"("plan":"pro")", R"("plan":"pro","seats":null)"},
        {R"("context":{)", R"("context":{"app":{"version":"2"},)"},  // context, but its library
        {R"("anonymousId":"x1")", R"("anonymousId":"x2")"},
        {R"("type":"identify")", R"("type":"track")"},
        {R"("plan":"pro")", R"("plan":1)"},
        {R"("messageId":"lsr-00000000000000000000000000000001")",
         R"("messageId":"lsr-00000000000000000000000000000001","integrations":{"Braze":false})"},
        {R"("context":{)", R"("context":{"messageId":"m",)"},  // only top-level ones are ignored
    };
    for (const auto& c : changes) {
        INFO(c[1]);
        CHECK(content(replaced(kIdentify, c[0], c[1])) != base);
    }
    // String and number of the same text differ; so do true and "true".
    CHECK(content(R"({"userId":"u","traits":{"a":"1"}})") != content(R"({"userId":"u","traits":{"a":1}})"));
    CHECK(content(R"({"userId":"u","traits":{"a":"true"}})") !=
          content(R"({"userId":"u","traits":{"a":true}})"));
    CHECK(content(R"({"userId":"u","traits":{"a":"b","c":""}})") !=
          content(R"({"userId":"u","traits":{"a":"bc","":""}})"));
}

TEST_CASE("sync event reader: one reader, many rows, the same answers", "[sync][sync_event_reader]") {
    SyncEventReader reader;
    SyncRowView view;
    std::string error;
    for (int round = 0; round < 3; ++round) {
        for (const std::string* e : {&kIdentify, &kTrack, &kGroup, &kHubIdentify}) {
            REQUIRE(reader.read(*e, view, error));
            const SyncRowView fresh = read_ok(*e);
            CHECK(view.identity_key == fresh.identity_key);
            CHECK(view.identity_json == fresh.identity_json);
            CHECK(view.content_hash == fresh.content_hash);
            CHECK(view.payload_members.size() == fresh.payload_members.size());
            CHECK(view.payload_begin == fresh.payload_begin);
            CHECK(view.integrations_begin == fresh.integrations_begin);
        }
    }
}
