#include "core/mapping/hub_row_mapper.hpp"

#include <algorithm>

#include "core/core_error.hpp"
#include "core/mapping/message_id.hpp"
#include "core/mapping/row_cells.hpp"

namespace lsr::core {
namespace {

constexpr const char* kUnassigned = "Query requires a field tagged email or user_id or segment_anonymous_id.";
constexpr const char* kNoId = "You must pass either an \"anonymousId\" or a \"userId\".";
constexpr const char* kNoEvent = "You must pass an \"event\".";
constexpr const char* kNoGroupId = "You must pass a \"groupId\".";
constexpr const char* kUndefinedValue = "Cannot read properties of undefined (reading 'value')";
constexpr const char* kNullPush = "Cannot read properties of null (reading 'push')";

// Members in JavaScript's property order: integer-like keys ascending, then the rest.
std::vector<const rapidjson::Value::Member*> js_members(const rapidjson::Value& obj) {
    std::vector<const rapidjson::Value::Member*> members;
    members.reserve(obj.MemberCount());
    for (const auto& m : obj.GetObject()) members.push_back(&m);
    std::stable_sort(members.begin(), members.end(), [](auto* a, auto* b) {
        const bool ia = JsonOut::is_array_index(view_of(a->name));
        const bool ib = JsonOut::is_array_index(view_of(b->name));
        if (ia != ib) return ia;
        return ia && std::stoull(std::string(view_of(a->name))) < std::stoull(std::string(view_of(b->name)));
    });
    return members;
}

}  // namespace

HubRowMapper::HubRowMapper(const RunState& run) : run_(run) {}

void HubRowMapper::prepare(const FieldSet& fields) {
    fields_ = &fields;
}

std::string HubRowMapper::next_uuid() {
    if (run_.options->uuid_source) return run_.options->uuid_source();
    if (!seeded_) {
        std::random_device device;
        random_.seed((static_cast<std::uint64_t>(device()) << 32) ^ device());
        seeded_ = true;
    }
    const std::uint64_t high = random_();
    return MessageId::uuid_v4(high, random_());
}

// The hub's filterJson, as its behaviour shows it: walks the cell depth-first; a "value"
// member that is null makes the whole result null; every nested object with a "value"
// contributes {key: value}, pushed after its own children, so pushing onto a result that
// a nested null already turned into null throws. Keys naming an id field are skipped.
bool HubRowMapper::flatten(const rapidjson::Value& obj, bool& is_null) {
    if (!obj.IsObject() && !obj.IsArray()) return true;
    std::vector<std::pair<std::string, const rapidjson::Value*>> children;
    if (obj.IsObject()) {
        for (const auto* m : js_members(obj)) children.emplace_back(std::string(view_of(m->name)), &m->value);
    } else {
        std::size_t i = 0;
        for (const auto& e : obj.GetArray()) children.emplace_back(std::to_string(i++), &e);
    }
    for (const auto& [key, child] : children) {
        if (fields_->is_identity_name(key)) continue;
        if (child->IsNull()) {
            if (key == "value") is_null = true;
            continue;
        }
        if (!child->IsObject() && !child->IsArray()) continue;
        if (!flatten(*child, is_null)) return false;
        if (!child->IsObject()) continue;
        auto v = child->FindMember("value");
        if (v == child->MemberEnd()) continue;
        if (is_null) return false;  // push onto null
        pivot_items_.emplace_back(key, &v->value);
    }
    return true;
}

void HubRowMapper::set_trait(const Trait& trait) {
    for (Trait& t : traits_) {
        if (t.key == trait.key) {  // a JavaScript object keeps the first position
            t = trait;
            return;
        }
    }
    traits_.push_back(trait);
}

std::error_code HubRowMapper::collect_traits(const rapidjson::Value& row, bool wrapped, std::string& fatal) {
    traits_.clear();
    pivot_items_.clear();
    const auto& fields = fields_->fields();
    for (std::size_t i = 0; i < fields.size(); ++i) {
        const Field& f = fields[i];
        const rapidjson::Value* cell = find_cell(row, f.name, i);
        if (!f.identity() && !f.hidden) {
            if (!cell) {
                fatal = "Field id " + f.name + " does not exist for JsonDetail.Row";
                return CoreError::missing_cell;
            }
            const rapidjson::Value* value = cell_value(cell, wrapped);
            Trait t;
            t.key = f.name;
            if (js_truthy(value) || js_is_zero(value)) {
                t.value = value;
            } else {
                t.is_pivot = true;
                t.pivot_begin = pivot_items_.size();
                if (!wrapped) {
                    t.is_null = cell->IsNull();  // false and "" still give []
                } else if (!flatten(*cell, t.is_null)) {
                    fatal = kNullPush;
                    return CoreError::hub_pivot_null;
                }
                t.pivot_end = pivot_items_.size();
                if (t.is_null) t.is_pivot = false;
            }
            set_trait(t);
        }
        if (static_cast<int>(i) == fields_->email_field()) {
            if (!cell) {
                fatal = kUndefinedValue;
                return CoreError::missing_cell;
            }
            const rapidjson::Value* value = cell_value(cell, wrapped);
            if (value) {  // undefined would vanish from the JSON
                Trait t;
                t.key = "email";
                t.value = value;
                set_trait(t);
            }
        }
    }
    return {};
}

void HubRowMapper::write_traits(JsonOut& out) const {
    out.raw('{');
    bool first = true;
    for (const Trait& t : traits_) {
        if (!first) out.raw(',');
        first = false;
        out.key(t.key);
        if (t.is_null) {
            out.raw("null");
        } else if (t.is_pivot) {
            out.raw('[');
            for (std::size_t k = t.pivot_begin; k < t.pivot_end; ++k) {
                if (k > t.pivot_begin) out.raw(',');
                out.raw('{');
                out.key(pivot_items_[k].first);
                out.value(*pivot_items_[k].second, false, true);
                out.raw('}');
            }
            out.raw(']');
        } else {
            out.value(*t.value, false, true);
        }
    }
    out.raw('}');
}

// analytics-node turns a truthy non-string id into its JSON text; falsy ones stay as they are.
void HubRowMapper::write_id(JsonOut& out, std::string_view key, const rapidjson::Value* v) const {
    if (!v) return;  // undefined: JSON.stringify leaves the key out
    out.key(key);
    if (js_truthy(v) && !v->IsString()) {
        std::string text;
        JsonOut(text).value(*v, false, true);
        out.string(text);
    } else {
        out.value(*v, false, true);
    }
    out.raw(',');
}

std::error_code HubRowMapper::map(const rapidjson::Value& row, bool wrapped, RowResult& out,
                                  std::string& fatal) {
    if (!fields_ || !fields_->any_identity()) {
        fatal = kUnassigned;
        return CoreError::missing_tagged_field;
    }
    if (auto ec = collect_traits(row, wrapped, fatal)) return ec;
    const auto id_value = [&](int index, const rapidjson::Value*& v) -> bool {
        v = nullptr;
        if (index < 0) return true;
        const Field& f = fields_->fields()[static_cast<std::size_t>(index)];
        const rapidjson::Value* cell = find_cell(row, f.name, static_cast<std::size_t>(index));
        if (!cell) return false;
        v = cell_value(cell, wrapped);
        return true;
    };
    static const rapidjson::Value kNull;
    const rapidjson::Value *user = &kNull, *anon = &kNull, *group = &kNull;
    if (!id_value(fields_->id_field(), user) || !id_value(fields_->anonymous_id_field(), anon) ||
        !id_value(fields_->group_id_field(), group)) {
        fatal = kUndefinedValue;
        return CoreError::missing_cell;
    }
    if (fields_->id_field() < 0) user = &kNull;
    if (fields_->group_id_field() < 0) group = &kNull;
    const MapperOptions& o = *run_.options;
    rapidjson::Value random_anon;
    std::string anon_text;
    if (fields_->anonymous_id_field() < 0) {
        anon = &kNull;
        if (o.call != CallType::group && !js_truthy(user)) {
            anon_text = next_uuid();
            random_anon.SetString(anon_text.data(), static_cast<rapidjson::SizeType>(anon_text.size()));
            anon = &random_anon;
        }
    }
    if (!js_truthy(user) && !js_truthy(anon)) {
        out.reject_reason = kNoId;
    } else if (o.call == CallType::track && o.event.empty()) {
        out.reject_reason = kNoEvent;
    } else if (o.call == CallType::group && !js_truthy(group)) {
        out.reject_reason = kNoGroupId;
    }

    JsonOut w(out.json);
    w.raw('{');
    write_id(w, "userId", user);
    write_id(w, "anonymousId", anon);
    if (group && !group->IsNull()) {  // analytics-node stringifies userId and anonymousId only
        w.key("groupId");
        w.value(*group, false, true);
        w.raw(',');
    }
    w.key(o.call == CallType::track ? "properties" : "traits");
    write_traits(w);
    if (!o.event.empty()) {
        w.raw(",\"event\":");
        w.string(o.event);
    }
    w.raw(
        ",\"context\":{\"library\":{\"name\":\"analytics-node\",\"version\":\"3.5.0\"},\"app\":{\"name\":"
        "\"looker/actions\",\"version\":");
    w.string(o.hub_app_version);
    w.raw("}},\"timestamp\":");
    w.raw(run_.timestamp_json);
    w.raw(",\"type\":");
    w.string(call_type_name(o.call));
    w.raw(",\"_metadata\":{\"nodeVersion\":");
    w.string(o.hub_node_version);
    w.raw('}');
    if (run_.readiness && !run_.readiness->empty()) {
        EventFacts facts;
        facts.user_id = js_truthy(user);
        facts.anonymous_id = js_truthy(anon);
        facts.group_id = js_truthy(group);
        std::vector<std::string_view> keys;
        for (const Trait& t : traits_) {
            keys.push_back(t.key);
            if (t.key == "email") facts.email = js_truthy(t.value);
        }
        facts.trait_keys = &keys;
        run_.readiness->evaluate(facts, out.unready);
        run_.readiness->append_integrations(w, out.unready);
    }
    // analytics-node hashes the message as it stands before messageId is added.
    out.message_id = "node-" + MessageId::md5_hex({out.json, "}"}) + "-" + next_uuid();
    w.raw(",\"messageId\":");
    w.string(out.message_id);
    w.raw('}');
    return {};
}

}  // namespace lsr::core
