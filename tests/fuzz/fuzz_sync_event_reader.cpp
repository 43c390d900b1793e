// Cohort sync's event reader and writer: whatever the mapped event's bytes, the reader
// either refuses them with a reason or gives spans inside the text and the same answers on
// a second read; every event the writer then builds, for every mode and kind, is JSON.
#include <rapidjson/document.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/sync/sync_event_reader.hpp"
#include "core/sync/sync_event_writer.hpp"

namespace {

void check_json(std::string_view event) {
    rapidjson::Document d;
    d.Parse(event.data(), event.size());
    if (d.HasParseError() || !d.IsObject()) std::abort();
}

void check_span(std::string_view text, std::size_t begin, std::size_t end, char first, char last) {
    if (begin == lsr::core::SyncRowView::npos) return;
    if (begin >= end || end > text.size()) std::abort();
    if (first && (text[begin] != first || text[end - 1] != last)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace lsr::core;
    if (size < 1) return 0;
    const std::uint8_t knobs = data[0];
    const std::string_view event(reinterpret_cast<const char*>(data + 1), size - 1);
    static SyncEventReader reader;  // reused, as from row to row
    SyncRowView view;
    std::string error;
    if (!reader.read(event, view, error)) {
        if (error.empty()) std::abort();
        return 0;
    }
    check_span(event, view.payload_begin, view.payload_end, '{', '}');
    check_span(event, view.context_begin, view.context_end, '{', '}');
    check_span(event, view.integrations_begin, view.integrations_end, '{', '}');
    check_span(event, view.timestamp_begin, view.timestamp_end, 0, 0);
    check_span(event, view.message_id_begin, view.message_id_end, 0, 0);
    for (const SyncMemberSpan& m : view.payload_members)
        if (m.begin < view.payload_begin || m.end > view.payload_end || event[m.begin] != '"') std::abort();
    if (view.identity_key.size() < 2) std::abort();
    SyncRowView again;
    if (!reader.read(event, again, error) || again.content_hash != view.content_hash ||
        again.identity_json != view.identity_json || again.id_hash != view.id_hash)
        std::abort();

    SyncRequest request;
    request.mode = (knobs & 1) ? SyncMode::audience : SyncMode::changes;
    request.events = static_cast<AudienceEvents>((knobs >> 1) % 3);
    request.audience_key = (knobs & 8) ? "audience_key" : "churn_risk";
    SyncEventWriter writer(request, {"fuzz|1|segment|k", knobs}, R"({"library":{"name":"x"}})", "\"t\"");
    const auto emit = [](std::string_view e) { check_json(e); };
    writer.row(event, view, SyncEventKind::changed, emit);
    writer.row(event, view, SyncEventKind::entered, emit);
    writer.exit(view.identity_json, view.id_hash, emit);
    return 0;
}
