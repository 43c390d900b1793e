#include "core/sync/sync_event_writer.hpp"

#include <rapidjson/document.h>

#include <algorithm>
#include <charconv>

#include "core/json_out.hpp"
#include "core/mapping/message_id.hpp"

namespace lsr::core {
namespace {

constexpr std::string_view kEntered = "Audience Entered";
constexpr std::string_view kExited = "Audience Exited";

struct Edit {
    std::size_t begin, end;
    std::string_view text;
};

// `event` with the edits' spans replaced (the edits do not overlap).
void splice(std::string_view event, Edit a, Edit b, std::string& out) {
    if (b.begin < a.begin) std::swap(a, b);
    out.clear();
    out.append(event.substr(0, a.begin));
    out.append(a.text);
    out.append(event.substr(a.end, b.begin - a.end));
    out.append(b.text);
    out.append(event.substr(b.end));
}

std::string_view span(std::string_view event, std::size_t begin, std::size_t end) {
    return begin == SyncRowView::npos ? std::string_view() : event.substr(begin, end - begin);
}

}  // namespace

std::string_view sync_event_kind_name(SyncEventKind kind) {
    switch (kind) {
        case SyncEventKind::entered:
            return "entered";
        case SyncEventKind::exited:
            return "exited";
        case SyncEventKind::changed:
            break;
    }
    return "changed";
}

SyncEventWriter::SyncEventWriter(SyncRequest request, SyncRunIdentity run, std::string library_context_json,
                                 std::string timestamp_json)
    : request_(std::move(request)),
      run_(std::move(run)),
      library_context_json_(std::move(library_context_json)),
      timestamp_json_(std::move(timestamp_json)),
      generation_text_(std::to_string(run_.generation)),
      ids_(std::make_unique<MessageId>()) {
    JsonOut(key_member_true_).key(request_.audience_key);
    key_member_false_ = key_member_true_;
    key_member_true_ += "true";
    key_member_false_ += "false";
}

SyncEventWriter::~SyncEventWriter() = default;
SyncEventWriter::SyncEventWriter(SyncEventWriter&&) noexcept = default;
SyncEventWriter& SyncEventWriter::operator=(SyncEventWriter&&) noexcept = default;

void SyncEventWriter::append_hex(std::string& out, std::uint64_t v) {
    static constexpr char kHex[] = "0123456789abcdef";
    char text[16];
    for (int i = 15; i >= 0; --i, v >>= 4) text[i] = kHex[v & 15];
    out.append(text, sizeof text);
}

void SyncEventWriter::make_id(SyncEventKind kind, std::string_view type, std::uint64_t id_hash,
                              const std::uint64_t* content) {
    char hex[32];
    scratch_.clear();
    append_hex(scratch_, id_hash);
    if (content) append_hex(scratch_, *content);
    std::copy(scratch_.begin(), scratch_.end(), hex);
    const std::string_view id_hex(hex, 16);
    const std::string_view content_hex(hex + 16, content ? 16 : 0);
    ids_->deterministic(
        {run_.baseline_key, generation_text_, sync_event_kind_name(kind), type, id_hex, content_hex}, id_);
}

bool SyncEventWriter::is_audience_key(std::string_view member) const {
    // member starts with the key's opening quote
    std::size_t q = 1;
    bool escaped = false;
    for (; q < member.size(); ++q) {
        if (member[q] == '\\') {
            escaped = true;
            ++q;
        } else if (member[q] == '"') {
            break;
        }
    }
    if (q >= member.size()) return false;
    const std::string_view raw = member.substr(1, q - 1);
    if (!escaped) return raw == request_.audience_key;
    rapidjson::Document d;  // an escaped key: rare, decoded properly
    d.Parse(member.data(), q + 1);
    return !d.HasParseError() && d.IsString() &&
           std::string_view(d.GetString(), d.GetStringLength()) == request_.audience_key;
}

void SyncEventWriter::payload_with_key(std::string_view event, const SyncRowView& view, bool value,
                                       std::string& out) const {
    out.assign("{");
    for (const SyncMemberSpan& m : view.payload_members) {
        const std::string_view member = event.substr(m.begin, m.end - m.begin);
        if (is_audience_key(member)) continue;
        out.append(member);
        out.push_back(',');
    }
    out.append(value ? key_member_true_ : key_member_false_);
    out.push_back('}');
}

void SyncEventWriter::audience_properties(bool value, std::string& out) const {
    out.assign("{\"audience_key\":");
    JsonOut(out).string(request_.audience_key);
    if (request_.audience_key != "audience_key") {  // the name cannot carry both
        out.push_back(',');
        out.append(value ? key_member_true_ : key_member_false_);
    }
    out.push_back('}');
}

void SyncEventWriter::compose(std::string_view type, std::string_view identity_json,
                              std::string_view event_name, std::string_view payload, std::string_view context,
                              std::string_view timestamp, std::string_view integrations) {
    out_.assign("{\"type\":");
    JsonOut w(out_);
    w.string(type);
    if (!identity_json.empty()) {
        out_.push_back(',');
        out_.append(identity_json);
    }
    if (!event_name.empty()) {
        out_.append(",\"event\":");
        w.string(event_name);
    }
    out_.append(type == "track" ? ",\"properties\":" : ",\"traits\":");
    out_.append(payload);
    out_.append(",\"context\":");
    out_.append(context.empty() ? std::string_view(library_context_json_) : context);
    out_.append(",\"timestamp\":");
    out_.append(timestamp.empty() ? std::string_view(timestamp_json_) : timestamp);
    out_.append(",\"messageId\":");
    w.string(id_);
    if (!integrations.empty()) {
        out_.append(",\"integrations\":");
        out_.append(integrations);
    }
    out_.push_back('}');
}

void SyncEventWriter::as_is(std::string_view event, const SyncRowView& view, SyncEventKind kind) {
    make_id(kind, view.type, view.id_hash, &view.content_hash);
    scratch_.assign("\"");
    scratch_.append(id_);
    scratch_.push_back('"');
    if (view.message_id_begin != SyncRowView::npos) {
        splice(event, {view.message_id_begin, view.message_id_end, scratch_},
               {event.size(), event.size(), {}}, out_);
        return;
    }
    const std::size_t close = event.rfind('}');
    payload_.assign(",\"messageId\":");
    payload_.append(scratch_);
    splice(event, {close, close, payload_}, {event.size(), event.size(), {}}, out_);
}

void SyncEventWriter::group_entered(std::string_view event, const SyncRowView& view) {
    make_id(SyncEventKind::entered, "group", view.id_hash, &view.content_hash);
    payload_with_key(event, view, true, payload_);
    scratch_.assign("\"");
    scratch_.append(id_);
    scratch_.push_back('"');
    Edit id_edit{view.message_id_begin, view.message_id_end, scratch_};
    std::string inserted;
    if (view.message_id_begin == SyncRowView::npos) {
        const std::size_t close = event.rfind('}');
        inserted = ",\"messageId\":" + scratch_;
        id_edit = {close, close, inserted};
    }
    splice(event, {view.payload_begin, view.payload_end, payload_}, id_edit, out_);
}

void SyncEventWriter::row(std::string_view event_json, const SyncRowView& view, SyncEventKind kind,
                          const std::function<void(std::string_view event_json)>& emit) {
    if (request_.mode != SyncMode::audience || kind != SyncEventKind::entered) {
        as_is(event_json, view, kind);
        emit(out_);
        return;
    }
    const std::string_view context = span(event_json, view.context_begin, view.context_end);
    const std::string_view timestamp = span(event_json, view.timestamp_begin, view.timestamp_end);
    const std::string_view integrations = span(event_json, view.integrations_begin, view.integrations_end);
    if (view.is_group()) {
        if (view.payload_begin != SyncRowView::npos) {
            group_entered(event_json, view);
        } else {
            make_id(SyncEventKind::entered, "group", view.id_hash, &view.content_hash);
            payload_with_key(event_json, view, true, payload_);
            compose("group", view.identity_json, {}, payload_, context, timestamp, integrations);
        }
        emit(out_);
        return;
    }
    if (request_.events != AudienceEvents::track) {
        make_id(SyncEventKind::entered, "identify", view.id_hash, &view.content_hash);
        payload_with_key(event_json, view, true, payload_);
        compose("identify", view.identity_json, {}, payload_, context, timestamp, integrations);
        emit(out_);
    }
    if (request_.events != AudienceEvents::identify) {
        make_id(SyncEventKind::entered, "track", view.id_hash, &view.content_hash);
        audience_properties(true, payload_);
        compose("track", view.identity_json, kEntered, payload_, context, timestamp, integrations);
        emit(out_);
    }
}

void SyncEventWriter::exit(std::string_view identity_json, std::uint64_t id_hash,
                           const std::function<void(std::string_view event_json)>& emit) {
    if (identity_json.empty()) return;
    if (identity_json.find("\"groupId\"") != std::string_view::npos) {
        make_id(SyncEventKind::exited, "group", id_hash, nullptr);
        payload_.assign("{");
        payload_.append(key_member_false_);
        payload_.push_back('}');
        compose("group", identity_json, {}, payload_, {}, {}, {});
        emit(out_);
        return;
    }
    if (request_.events != AudienceEvents::track) {
        make_id(SyncEventKind::exited, "identify", id_hash, nullptr);
        payload_.assign("{");
        payload_.append(key_member_false_);
        payload_.push_back('}');
        compose("identify", identity_json, {}, payload_, {}, {}, {});
        emit(out_);
    }
    if (request_.events != AudienceEvents::identify) {
        make_id(SyncEventKind::exited, "track", id_hash, nullptr);
        audience_properties(false, payload_);
        compose("track", identity_json, kExited, payload_, {}, {}, {});
        emit(out_);
    }
}

}  // namespace lsr::core
