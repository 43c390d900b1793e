// Builds the events a cohort-sync run sends, from raw spans of the mapped event (as
// SyncEventReader found them) and core::JsonOut, with deterministic messageIds: the same
// run (same baseline and generation) always gives the same ids, so a re-sent execute
// dedupes at Segment; a later run gives new ones.
//
// messageId = MessageId::deterministic({baseline_key, generation (decimal), kind name,
// event type, id_hash (16 hex digits), content_hash (16 hex digits; "" for exits)}).
//
// Shapes (Segment Engage's audience shapes):
//  - changes mode, or audience + changed: the mapped event as it is, messageId replaced;
//  - audience + entered: identify {"type":"identify",<ids>,"traits":{<row's payload members>,
//    "<key>":true},"context":..,"timestamp":..,"messageId":..[,"integrations":..]} and/or
//    track {"type":"track",<ids>,"event":"Audience Entered","properties":{"audience_key":
//    "<key>","<key>":true},...}; a group row: its own group event with "<key>":true added to
//    its traits (audience_events does not apply);
//  - exit: identify traits {"<key>":false} and/or track "Audience Exited" with properties
//    {"audience_key":"<key>","<key>":false}; group call with traits {"<key>":false} when the
//    stored identity has a groupId. The library context and the run's timestamp.
// A row member named like the audience key is dropped: the writer's value wins. Context,
// timestamp and integrations come from the row when it has them.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/sync/sync_event_reader.hpp"
#include "core/sync/sync_request.hpp"

namespace lsr::core {

class MessageId;

enum class SyncEventKind { changed, entered, exited };
std::string_view sync_event_kind_name(SyncEventKind kind);  // "changed" | "entered" | "exited"

// The baseline's key text and the run's new generation.
struct SyncRunIdentity {
    std::string baseline_key;
    std::int64_t generation = 0;
};

class SyncEventWriter {
  public:
    // `library_context_json`: the "context" object for exits, which have no row (e.g. the
    // mappers' {"library":{...}}). `timestamp_json`: the run's timestamp as a JSON string.
    SyncEventWriter(SyncRequest request, SyncRunIdentity run, std::string library_context_json,
                    std::string timestamp_json);
    ~SyncEventWriter();
    SyncEventWriter(SyncEventWriter&&) noexcept;
    SyncEventWriter& operator=(SyncEventWriter&&) noexcept;

    // A row that is new (entered) or changed: calls `emit` once per event to send (the text
    // is valid during the call only).
    void row(std::string_view event_json, const SyncRowView& view, SyncEventKind kind,
             const std::function<void(std::string_view event_json)>& emit);
    // A member that left (audience mode): the events for `identity_json` as the reader gave it.
    // Nothing when it is empty (no id to address).
    void exit(std::string_view identity_json, std::uint64_t id_hash,
              const std::function<void(std::string_view event_json)>& emit);

    // 16 lower-case hex digits.
    static void append_hex(std::string& out, std::uint64_t v);

  private:
    void make_id(SyncEventKind kind, std::string_view type, std::uint64_t id_hash,
                 const std::uint64_t* content);
    void as_is(std::string_view event, const SyncRowView& view, SyncEventKind kind);
    void group_entered(std::string_view event, const SyncRowView& view);
    void compose(std::string_view type, std::string_view identity_json, std::string_view event_name,
                 std::string_view payload, std::string_view context, std::string_view timestamp,
                 std::string_view integrations);
    // The payload's members other than the audience key, comma-joined, then the key's member.
    void payload_with_key(std::string_view event, const SyncRowView& view, bool value,
                          std::string& out) const;
    void audience_properties(bool value, std::string& out) const;
    bool is_audience_key(std::string_view member) const;

    SyncRequest request_;
    SyncRunIdentity run_;
    std::string library_context_json_, timestamp_json_;
    std::string generation_text_, key_member_true_, key_member_false_;
    std::unique_ptr<MessageId> ids_;
    std::string id_, out_, payload_, scratch_;
};

}  // namespace lsr::core
