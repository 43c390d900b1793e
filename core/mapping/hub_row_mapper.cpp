#include "core/mapping/hub_row_mapper.hpp"

#include <algorithm>
#include <charconv>

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

// Appends the members of `obj` to `out` in JavaScript's property order: integer-like keys
// ascending, then the rest in their own order. Two array indexes (no leading zero) compare
// as numbers when compared by length, then text; equal keys keep their order (members lie
// in one array, so their addresses give it). Nothing is allocated once `out` has room.
void append_js_members(const rapidjson::Value& obj, std::vector<const rapidjson::Value::Member*>& out) {
    const std::size_t begin = out.size();
    for (const auto& m : obj.GetObject())
        if (JsonOut::is_array_index(view_of(m.name))) out.push_back(&m);
    const std::size_t indexes = out.size() - begin;
    if (indexes > 1) {
        std::sort(out.begin() + static_cast<std::ptrdiff_t>(begin), out.end(), [](auto* a, auto* b) {
            const std::string_view na = view_of(a->name), nb = view_of(b->name);
            if (na.size() != nb.size()) return na.size() < nb.size();
            if (na != nb) return na < nb;
            return a < b;
        });
    }
    if (indexes == obj.MemberCount()) return;
    for (const auto& m : obj.GetObject())
        if (indexes == 0 || !JsonOut::is_array_index(view_of(m.name))) out.push_back(&m);
}

std::string_view index_text(std::size_t index, char (&buf)[24]) {
    const auto end = std::to_chars(buf, buf + sizeof buf, index).ptr;
    return {buf, static_cast<std::size_t>(end - buf)};
}

}  // namespace

HubRowMapper::HubRowMapper(const RunState& run) : run_(run) {}

constexpr std::string_view kEmailKeyJson = "\"email\":";

void HubRowMapper::prepare(const FieldSet& fields) {
    fields_ = &fields;
    key_json_.clear();
    unique_keys_ = true;
    const auto& list = fields.fields();
    for (std::size_t i = 0; i < list.size(); ++i) {
        std::string text;
        JsonOut(text).key(list[i].name);
        key_json_.push_back(std::move(text));
        if (list[i].name == "email") unique_keys_ = false;
        for (std::size_t j = 0; j < i; ++j)
            if (list[j].name == list[i].name) unique_keys_ = false;
    }
    tail_ready_ = false;
}

const std::string& HubRowMapper::tail() {
    if (tail_ready_ && tail_timestamp_ == run_.timestamp_json) return tail_;
    const MapperOptions& o = *run_.options;
    tail_.clear();
    JsonOut w(tail_);
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
    tail_timestamp_ = run_.timestamp_json;
    tail_ready_ = true;
    return tail_;
}

void HubRowMapper::append_uuid(std::string& out) {
    if (run_.options->uuid_source) {
        out += run_.options->uuid_source();
        return;
    }
    if (!seeded_) {
        std::random_device device;
        random_.seed((static_cast<std::uint64_t>(device()) << 32) ^ device());
        seeded_ = true;
    }
    const std::uint64_t high = random_();
    MessageId::append_uuid_v4(high, random_(), out);
}

// The hub's filterJson, as its behaviour shows it: walks the cell depth-first; a "value"
// member that is null makes the whole result null; every nested object with a "value"
// contributes {key: value}, pushed after its own children, so pushing onto a result that
// a nested null already turned into null throws. Keys naming an id field are skipped.
bool HubRowMapper::flatten(const rapidjson::Value& obj, bool& is_null) {
    if (obj.IsArray()) {
        std::size_t i = 0;
        char buf[24];
        for (const auto& e : obj.GetArray()) {
            if (!flatten_child(index_text(i, buf), i, true, e, is_null)) return false;
            ++i;
        }
        return true;
    }
    if (!obj.IsObject()) return true;
    // This level's members sit in members_[begin, end); deeper levels append after them.
    const std::size_t begin = members_.size();
    append_js_members(obj, members_);
    const std::size_t end = members_.size();
    bool ok = true;
    for (std::size_t k = begin; k < end && ok; ++k) {
        const auto* m = members_[k];
        ok = flatten_child(view_of(m->name), 0, false, m->value, is_null);
    }
    members_.resize(begin);
    return ok;
}

bool HubRowMapper::flatten_child(std::string_view key, std::size_t index, bool is_index,
                                 const rapidjson::Value& child, bool& is_null) {
    if (fields_->is_identity_name(key)) return true;
    if (child.IsNull()) {
        if (key == "value") is_null = true;
        return true;
    }
    if (!child.IsObject() && !child.IsArray()) return true;
    if (!flatten(child, is_null)) return false;
    if (!child.IsObject()) return true;
    auto v = child.FindMember("value");
    if (v == child.MemberEnd()) return true;
    if (is_null) return false;  // push onto null
    PivotItem item;
    if (is_index) {
        item.index = index;
        item.is_index = true;
    } else {
        item.key = key;
    }
    item.value = &v->value;
    pivot_items_.push_back(item);
    return true;
}

void HubRowMapper::set_trait(const Trait& trait) {
    if (unique_keys_) {
        traits_.push_back(trait);
        return;
    }
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
            t.key_json = key_json_[i];
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
                t.key_json = kEmailKeyJson;
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
        out.raw(t.key_json);
        if (t.is_null) {
            out.raw("null");
        } else if (t.is_pivot) {
            out.raw('[');
            for (std::size_t k = t.pivot_begin; k < t.pivot_end; ++k) {
                if (k > t.pivot_begin) out.raw(',');
                const PivotItem& item = pivot_items_[k];
                out.raw('{');
                char buf[24];
                out.key(item.is_index ? index_text(item.index, buf) : item.key);
                out.value(*item.value, false, true);
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
void HubRowMapper::write_id(JsonOut& out, std::string_view key, const rapidjson::Value* v) {
    if (!v) return;  // undefined: JSON.stringify leaves the key out
    out.key(key);
    if (js_truthy(v) && !v->IsString()) {
        id_text_.clear();
        JsonOut(id_text_).value(*v, false, true);
        out.string(id_text_);
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
    if (fields_->anonymous_id_field() < 0) {
        anon = &kNull;
        if (o.call != CallType::group && !js_truthy(user)) {
            anon_text_.clear();
            append_uuid(anon_text_);
            random_anon.SetString(anon_text_.data(), static_cast<rapidjson::SizeType>(anon_text_.size()));
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
    w.raw(tail());
    if (run_.readiness && !run_.readiness->empty()) {
        EventFacts facts;
        facts.user_id = js_truthy(user);
        facts.anonymous_id = js_truthy(anon);
        facts.group_id = js_truthy(group);
        trait_keys_.clear();
        for (const Trait& t : traits_) {
            trait_keys_.push_back(t.key);
            if (t.key == "email") facts.email = js_truthy(t.value);
        }
        facts.trait_keys = &trait_keys_;
        run_.readiness->evaluate(facts, out.unready);
        run_.readiness->append_integrations(w, out.unready);
    }
    // analytics-node hashes the message as it stands before messageId is added.
    // Built in place in out.message_id, whose room the caller keeps from row to row.
    out.message_id.assign("node-");
    message_ids_.append_md5_hex({out.json, "}"}, out.message_id);
    out.message_id.push_back('-');
    append_uuid(out.message_id);
    w.raw(",\"messageId\":");
    w.string(out.message_id);
    w.raw('}');
    return {};
}

}  // namespace lsr::core
