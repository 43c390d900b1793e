// Reads one mapped event (the compact JSON text the row mappers write, standard or hub
// shape) once, with a RapidJSON SAX reader (no DOM), for cohort sync: the row's type, its
// identity, the hashes the baseline stores, and the byte spans SyncEventWriter composes new
// events from. One reader serves every row of a run; once warm it allocates nothing (the
// view's strings and vectors keep their room too).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace lsr::core {

// A member of the payload object: from its key's opening quote to one past its value.
struct SyncMemberSpan {
    std::size_t begin = 0, end = 0;
};

struct SyncRowView {
    static constexpr std::size_t npos = std::string_view::npos;

    std::string_view type;  // the top-level "type" string's text, as in the event ("identify", "track", ...)
    // What identifies the row: "u:" + userId, else "a:" + anonymousId, else "e:" + email
    // (traits.email, else properties.email, else context.traits.email); for type "group":
    // "g:" + groupId (when it has none, the rules before apply).
    std::string identity_key;
    // The identity members as in the event, comma-joined, in event order: userId, anonymousId,
    // groupId (those present), e.g. "\"userId\":\"u1\",\"anonymousId\":\"x\"". Empty when the
    // row is known by its email only.
    std::string identity_json;
    std::uint64_t id_hash = 0;  // Hash64 of identity_key
    // Hash64 over the event without its top-level messageId, timestamp and sentAt, and without
    // context.library (the relay's name and version: an upgrade changes no member): every other
    // member, name and value, in order (escapes decoded, so only content counts).
    std::uint64_t content_hash = 0;
    // Spans of the event text, half-open [begin, end): text.substr(begin, end - begin) is the
    // value itself ('{' .. '}' for objects, the quotes for strings); npos when absent.
    std::size_t payload_begin = npos,
                payload_end = npos;  // "traits" (identify, group) or "properties" (track, page, screen)
    std::size_t context_begin = npos, context_end = npos;            // "context"
    std::size_t timestamp_begin = npos, timestamp_end = npos;        // "timestamp"
    std::size_t integrations_begin = npos, integrations_end = npos;  // "integrations"
    std::size_t message_id_begin = npos, message_id_end = npos;      // "messageId"
    std::vector<SyncMemberSpan> payload_members;                     // the payload's members, in order

    bool is_group() const { return type == "group"; }
};

class SyncEventReader {
  public:
    SyncEventReader();
    ~SyncEventReader();
    SyncEventReader(SyncEventReader&&) noexcept;
    SyncEventReader& operator=(SyncEventReader&&) noexcept;

    // False (with a reason in `error`) when the text is not one JSON object (nested at most
    // kMaxJsonDepth deep) or the event has no identity at all. A null, empty or non-string
    // userId or anonymousId counts as absent; a groupId or email that is a number counts by
    // its text.
    bool read(std::string_view event_json, SyncRowView& out, std::string& error);

  private:
    struct State;
    std::unique_ptr<State> state_;
};

}  // namespace lsr::core
