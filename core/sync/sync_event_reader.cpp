#include "core/sync/sync_event_reader.hpp"

#include <rapidjson/error/en.h>
#include <rapidjson/reader.h>

#include <cstring>

#include "core/json_limits.hpp"
#include "core/sync/hash64.hpp"

namespace lsr::core {
namespace {

enum class Top : std::uint8_t {
    other,
    type,
    user_id,
    anonymous_id,
    group_id,
    traits,
    properties,
    context,
    timestamp,
    message_id,
    sent_at,
    integrations
};

Top top_key(std::string_view k) {
    switch (k.size()) {
        case 4:
            return k == "type" ? Top::type : Top::other;
        case 6:
            if (k == "userId") return Top::user_id;
            if (k == "traits") return Top::traits;
            return k == "sentAt" ? Top::sent_at : Top::other;
        case 7:
            if (k == "groupId") return Top::group_id;
            return k == "context" ? Top::context : Top::other;
        case 9:
            if (k == "timestamp") return Top::timestamp;
            return k == "messageId" ? Top::message_id : Top::other;
        case 10:
            return k == "properties" ? Top::properties : Top::other;
        case 11:
            return k == "anonymousId" ? Top::anonymous_id : Top::other;
        case 12:
            return k == "integrations" ? Top::integrations : Top::other;
        default:
            return Top::other;
    }
}

// RapidJSON's InsituStringStream, but without its copy optimization: the parser works on the
// stream itself, so Tell() in a handler callback is exact (after a string's closing quote,
// after a number's last digit). Reads up to a NUL byte; the buffer ends with one.
struct TextStream {
    using Ch = char;
    explicit TextStream(char* text) : src(text), dst(nullptr), head(text) {}
    Ch Peek() const { return *src; }
    Ch Take() { return *src++; }
    std::size_t Tell() const { return static_cast<std::size_t>(src - head); }
    Ch* PutBegin() { return dst = src; }
    void Put(Ch c) { *dst++ = c; }
    std::size_t PutEnd(Ch* begin) { return static_cast<std::size_t>(dst - begin); }
    void Flush() {}
    Ch* Push(std::size_t count) {
        Ch* begin = dst;
        dst += count;
        return begin;
    }
    void Pop(std::size_t count) { dst -= count; }

    char* src;
    char* dst;
    char* head;
};

struct Span {
    std::size_t begin = SyncRowView::npos, end = SyncRowView::npos;
    bool present() const { return begin != SyncRowView::npos; }
};

struct IdSlot {
    std::string text;
    Span member;  // key to value, for identity_json
    bool present = false;
};

}  // namespace

struct SyncEventReader::State {
    using Ch = char;

    rapidjson::Reader reader;
    TextStream* is = nullptr;
    std::string buffer;  // a writable, NUL-terminated copy of the event, parsed in situ
    std::string_view text;
    std::string canon;  // the content, as tagged tokens, hashed at the end

    // Walk.
    std::size_t depth = 0;
    std::size_t last_pos = 0;
    bool not_object = false, too_deep = false;
    Top top = Top::other;
    std::size_t member_begin = 0, value_begin = 0, payload_member_begin = 0;
    bool skip_key = false, skipping = false;
    // context.library: the relay's own name and version, not the row's content (an upgrade
    // must not make every member "changed").
    bool skip_library = false;
    bool in_payload = false;  // inside the traits/properties object (depth 2)
    bool ctx_key_traits = false, in_ctx_traits = false;
    int email_pending = 0;  // 1 traits.email, 2 properties.email, 3 context.traits.email (next value)
    int email_target = 0;   // the scalar being read is that email
    bool id_target = false;

    // Findings.
    Span type, traits, properties, context, timestamp, integrations, message_id;
    IdSlot user, anon, group;
    std::string email[3];
    std::vector<SyncMemberSpan> traits_members, properties_members;

    void reset(std::string_view t) {
        text = t;
        canon.clear();
        depth = last_pos = 0;
        not_object = too_deep = false;
        top = Top::other;
        skip_key = skipping = skip_library = in_payload = ctx_key_traits = in_ctx_traits = false;
        email_pending = email_target = 0;
        id_target = false;
        type = traits = properties = context = timestamp = integrations = message_id = Span();
        for (IdSlot* s : {&user, &anon, &group}) {
            s->text.clear();
            s->member = Span();
            s->present = false;
        }
        for (auto& e : email) e.clear();
        traits_members.clear();
        properties_members.clear();
    }

    std::size_t pos() const { return is->Tell(); }
    std::size_t skip_to_value(std::size_t p) const {  // past whitespace and ':'
        while (p < text.size() &&
               (text[p] == ' ' || text[p] == '\t' || text[p] == '\n' || text[p] == '\r' || text[p] == ':'))
            ++p;
        return p;
    }
    std::size_t skip_to_key(std::size_t p) const {  // past whitespace and ','
        while (p < text.size() &&
               (text[p] == ' ' || text[p] == '\t' || text[p] == '\n' || text[p] == '\r' || text[p] == ','))
            ++p;
        return p;
    }

    void token(char tag) {
        if (!skipping) canon.push_back(tag);
    }
    void token(char tag, const char* s, std::size_t n) {
        if (skipping) return;
        const auto len = static_cast<std::uint32_t>(n);
        char head[5] = {tag, static_cast<char>(len), static_cast<char>(len >> 8),
                        static_cast<char>(len >> 16), static_cast<char>(len >> 24)};
        canon.append(head, sizeof head);
        canon.append(s, n);
    }

    // A value starts; its parent container is at depth `pd` (0: the root).
    bool value_start(bool object, bool container) {
        const std::size_t pd = depth;
        email_target = 0;
        id_target = false;
        if (pd == 0) {
            if (!object) {
                not_object = true;
                return false;
            }
            return true;
        }
        if (pd == 1) {
            value_begin = container ? pos() - 1 : skip_to_value(last_pos);
            if (skip_key) skipping = true;
            id_target = top == Top::user_id || top == Top::anonymous_id || top == Top::group_id;
            if (object && (top == Top::traits || top == Top::properties)) {
                auto& members = top == Top::traits ? traits_members : properties_members;
                in_payload =
                    (top == Top::traits ? !traits.present() : !properties.present()) && members.empty();
            }
        } else if (pd == 2 && object && top == Top::context && ctx_key_traits) {
            in_ctx_traits = true;
        }
        if (!container && email_pending != 0) email_target = email_pending;
        email_pending = 0;
        return true;
    }

    void value_end() {
        const std::size_t pd = depth, end = pos();
        last_pos = end;
        if (pd == 1) {
            const Span v{value_begin, end};
            const char first = text[value_begin];
            switch (top) {
                case Top::type:
                    if (!type.present() && first == '"') type = v;
                    break;
                case Top::traits:
                    if (!traits.present() && first == '{') traits = v;
                    break;
                case Top::properties:
                    if (!properties.present() && first == '{') properties = v;
                    break;
                case Top::context:
                    if (!context.present() && first == '{') context = v;
                    break;
                case Top::timestamp:
                    if (!timestamp.present()) timestamp = v;
                    break;
                case Top::integrations:
                    if (!integrations.present() && first == '{') integrations = v;
                    break;
                case Top::message_id:
                    if (!message_id.present()) message_id = v;
                    break;
                default:
                    break;
            }
            skipping = false;
            skip_key = false;
            in_payload = false;
        } else if (pd == 2 && in_payload) {
            auto& members = top == Top::traits ? traits_members : properties_members;
            members.push_back({payload_member_begin, end});
        } else if (pd == 2 && top == Top::context) {
            in_ctx_traits = false;
            if (skip_library) skipping = skip_library = false;
        }
    }

    void identity(IdSlot& slot, const char* s, std::size_t n) {
        if (slot.present || n == 0) return;
        slot.present = true;
        slot.text.assign(s, n);
        slot.member = {member_begin, pos()};
    }

    bool scalar(char tag, const char* s, std::size_t n, bool is_string, bool is_number) {
        if (!value_start(false, false)) return false;
        token(tag, s, n);
        if (id_target) {
            if (top == Top::group_id ? (is_string || is_number) : is_string)
                identity(top == Top::user_id ? user : top == Top::anonymous_id ? anon : group, s, n);
        }
        if (email_target != 0 && (is_string || is_number) && email[email_target - 1].empty())
            email[email_target - 1].assign(s, n);
        value_end();
        return true;
    }

    bool Null() { return scalar('0', "", 0, false, false); }
    bool Bool(bool b) { return scalar(b ? 't' : 'f', "", 0, false, false); }
    bool Int(int) { return false; }  // numbers come as text (kParseNumbersAsStringsFlag)
    bool Uint(unsigned) { return false; }
    bool Int64(std::int64_t) { return false; }
    bool Uint64(std::uint64_t) { return false; }
    bool Double(double) { return false; }
    // In situ, RapidJSON hands the position after the number: its text is the n bytes before.
    bool RawNumber(const char*, rapidjson::SizeType n, bool) {
        return scalar('n', text.data() + pos() - n, n, false, true);
    }
    bool String(const char* s, rapidjson::SizeType n, bool) { return scalar('s', s, n, true, false); }

    bool start(bool object) {
        if (depth >= kMaxJsonDepth) {
            too_deep = true;
            return false;
        }
        if (!value_start(object, true)) return false;
        token(object ? '{' : '[');
        ++depth;
        last_pos = pos();
        return true;
    }
    bool end(bool object) {
        token(object ? '}' : ']');
        --depth;
        value_end();
        return true;
    }
    bool StartObject() { return start(true); }
    bool EndObject(rapidjson::SizeType) { return end(true); }
    bool StartArray() { return start(false); }
    bool EndArray(rapidjson::SizeType) { return end(false); }

    bool Key(const char* s, rapidjson::SizeType n, bool) {
        const std::string_view k(s, n);
        if (depth == 1) {
            top = top_key(k);
            member_begin = skip_to_key(last_pos);
            skip_key = top == Top::message_id || top == Top::timestamp || top == Top::sent_at;
        } else if (depth == 2) {
            if (in_payload) {
                payload_member_begin = skip_to_key(last_pos);
                if (k == "email") email_pending = top == Top::traits ? 1 : 2;
            } else if (top == Top::context) {
                ctx_key_traits = k == "traits";
                skip_library = k == "library";
                if (skip_library) skipping = true;
            }
        } else if (depth == 3 && in_ctx_traits && k == "email") {
            email_pending = 3;
        }
        if (!skip_key) token('k', s, n);
        last_pos = pos();
        return true;
    }
};

SyncEventReader::SyncEventReader() : state_(std::make_unique<State>()) {}
SyncEventReader::~SyncEventReader() = default;
SyncEventReader::SyncEventReader(SyncEventReader&&) noexcept = default;
SyncEventReader& SyncEventReader::operator=(SyncEventReader&&) noexcept = default;

bool SyncEventReader::read(std::string_view event_json, SyncRowView& out, std::string& error) {
    State& s = *state_;
    s.reset(event_json);
    // In situ over a copy: strings are decoded in place, nothing is pushed on the reader's
    // stack. Offsets (Tell) count bytes of the original text, which the spans are taken from.
    s.buffer.assign(event_json);
    TextStream is(s.buffer.data());
    s.is = &is;
    const rapidjson::ParseResult r =
        s.reader.Parse<rapidjson::kParseInsituFlag | rapidjson::kParseNumbersAsStringsFlag |
                       rapidjson::kParseStopWhenDoneFlag>(is, s);
    if (s.not_object || (r.IsError() && r.Code() == rapidjson::kParseErrorDocumentEmpty)) {
        error = "the event is not a JSON object";
        return false;
    }
    if (s.too_deep) {
        error = "the event nests deeper than " + std::to_string(kMaxJsonDepth) + " levels";
        return false;
    }
    if (r.IsError()) {
        error = std::string("the event is not valid JSON: ") + rapidjson::GetParseError_En(r.Code()) +
                " (at byte " + std::to_string(r.Offset()) + ")";
        return false;
    }
    // Only whitespace may follow; a NUL byte ends the parser's input early.
    for (std::size_t p = is.Tell(); p < event_json.size(); ++p) {
        const char c = event_json[p];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
            error = "the event is not valid JSON: text after the object (at byte " + std::to_string(p) + ")";
            return false;
        }
    }

    out.type = s.type.present() ? event_json.substr(s.type.begin + 1, s.type.end - s.type.begin - 2)
                                : std::string_view();
    const bool group = out.type == "group";
    const std::string* email = nullptr;
    for (const auto& e : s.email)
        if (!e.empty()) {
            email = &e;
            break;
        }
    out.identity_key.clear();
    if (group && s.group.present) {
        out.identity_key.append("g:").append(s.group.text);
    } else if (s.user.present) {
        out.identity_key.append("u:").append(s.user.text);
    } else if (s.anon.present) {
        out.identity_key.append("a:").append(s.anon.text);
    } else if (email) {
        out.identity_key.append("e:").append(*email);
    } else {
        error = "the event has no userId, anonymousId, email or (for a group call) groupId";
        return false;
    }
    // The identity members in event order (groupId only for a group call: the hub also
    // writes it beside an identify's ids, where Segment ignores it).
    const IdSlot* slots[3] = {&s.user, &s.anon, group ? &s.group : nullptr};
    out.identity_json.clear();
    for (;;) {
        const IdSlot* next = nullptr;
        for (const IdSlot*& slot : slots)
            if (slot && slot->present && (!next || slot->member.begin < next->member.begin)) next = slot;
        if (!next) break;
        if (!out.identity_json.empty()) out.identity_json.push_back(',');
        out.identity_json.append(
            event_json.substr(next->member.begin, next->member.end - next->member.begin));
        for (const IdSlot*& slot : slots)
            if (slot == next) slot = nullptr;
    }
    out.id_hash = Hash64::of(out.identity_key);
    out.content_hash = Hash64::of(s.canon);

    const bool props = out.type == "track" || out.type == "page" || out.type == "screen";
    const bool use_props = props ? s.properties.present() : !s.traits.present() && s.properties.present();
    const Span& payload = use_props ? s.properties : s.traits;
    out.payload_begin = payload.begin;
    out.payload_end = payload.end;
    const auto& members = use_props ? s.properties_members : s.traits_members;
    out.payload_members.assign(members.begin(), members.end());
    out.context_begin = s.context.begin;
    out.context_end = s.context.end;
    out.timestamp_begin = s.timestamp.begin;
    out.timestamp_end = s.timestamp.end;
    out.integrations_begin = s.integrations.begin;
    out.integrations_end = s.integrations.end;
    out.message_id_begin = s.message_id.begin;
    out.message_id_end = s.message_id.end;
    error.clear();
    return true;
}

}  // namespace lsr::core
