// Mapped events as the row mappers write them, shared by the sync tests.
#pragma once

#include <string>

namespace lsr::test {

inline const std::string kLibrary = R"({"library":{"name":"looker-segment-relay","version":"1.0.0"}})";

// The standard mapper's identify.
inline const std::string kIdentify =
    R"({"type":"identify","userId":"u1","anonymousId":"x1","traits":{"email":"a@b.c","plan":"pro"},)"
    R"("context":{"library":{"name":"looker-segment-relay","version":"1.0.0"}},)"
    R"("timestamp":"2026-12-05T10:00:00.000Z","messageId":"lsr-00000000000000000000000000000001"})";

// The standard mapper's track, with an integrations object.
inline const std::string kTrack =
    R"({"type":"track","anonymousId":"x2","event":"Churn Risk","properties":{"score":0.9,"email":"c@d.e"},)"
    R"("context":{"library":{"name":"looker-segment-relay","version":"1.0.0"},"groupId":"acme"},)"
    R"("timestamp":"2026-12-05T10:00:00.000Z","messageId":"lsr-00000000000000000000000000000002",)"
    R"("integrations":{"Braze":false}})";

// The standard mapper's group.
inline const std::string kGroup =
    R"({"type":"group","userId":"u3","groupId":"acme","traits":{"name":"Acme","seats":12},)"
    R"("context":{"library":{"name":"looker-segment-relay","version":"1.0.0"}},)"
    R"("timestamp":"2026-12-05T10:00:00.000Z","messageId":"lsr-00000000000000000000000000000003"})";

// The hub mapper's identify: other key order, null anonymousId, groupId beside the ids.
inline const std::string kHubIdentify =
    R"({"userId":"u4","anonymousId":null,"groupId":7,"traits":{"plan":"pro","email":"h@b.c"},)"
    R"("context":{"library":{"name":"analytics-node","version":"3.5.0"},"app":{"name":"looker/actions",)"
    R"("version":"1"}},"timestamp":"2026-12-05T10:00:00.000Z","type":"identify",)"
    R"("_metadata":{"nodeVersion":"18.0.0"},"messageId":"node-0123456789abcdef0123456789abcdef-uuid"})";

}  // namespace lsr::test
