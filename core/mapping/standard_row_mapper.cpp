#include "core/mapping/standard_row_mapper.hpp"

#include <algorithm>
#include <map>

#include "core/ascii_lower.hpp"
#include "core/core_error.hpp"
#include "core/mapping/row_cells.hpp"

#ifndef LSR_VERSION
#define LSR_VERSION "0.0.0"
#endif

namespace lsr::core {
namespace {

constexpr const char* kUnassigned = "Query requires a field tagged email or user_id or segment_anonymous_id.";
constexpr std::string_view kRowTotal = "$$$_row_total_$$$";
constexpr std::string_view kLibrary =
    "\"library\":{\"name\":\"looker-segment-relay\",\"version\":\"" LSR_VERSION "\"}";

std::string short_name(const std::string& name) {
    const auto dot = name.find('.');
    return dot == std::string::npos || dot + 1 == name.size() ? name : name.substr(dot + 1);
}

}  // namespace

StandardRowMapper::StandardRowMapper(const RunState& run) : run_(run) {}

void StandardRowMapper::prepare(const FieldSet& fields) {
    fields_ = &fields;
    const MapperOptions& o = *run_.options;
    const auto& list = fields.fields();
    keys_.assign(list.size(), std::string());
    std::vector<bool> fixed(list.size(), false);
    std::map<std::string, int> uses;
    if (fields.email_field() >= 0) ++uses["email"];
    for (std::size_t i = 0; i < list.size(); ++i) {
        const Field& f = list[i];
        if (f.identity() || f.hidden) continue;
        auto renamed = o.mapping.rename.find(f.name);
        if (renamed != o.mapping.rename.end()) {
            keys_[i] = renamed->second;
            fixed[i] = true;
        } else if (f.kind == FieldKind::table_calculation) {
            keys_[i] = f.name;  // already the name the admin chose
        } else if (o.mapping.trait_naming == core::TraitNaming::label && !f.label_short.empty()) {
            keys_[i] = ascii_lower(f.label_short);
        } else {
            keys_[i] = short_name(f.name);
        }
        ++uses[keys_[i]];
    }
    // Two fields would write the same key: both keep their full name instead.
    for (std::size_t i = 0; i < list.size(); ++i)
        if (!keys_[i].empty() && !fixed[i] && uses[keys_[i]] > 1) keys_[i] = list[i].name;
    track_keys_ = run_.readiness && !run_.readiness->empty();
}

bool StandardRowMapper::read_id(const rapidjson::Value& row, bool wrapped, int index, std::string& out,
                                RowResult& result) const {
    out.clear();
    if (index < 0) return true;
    const Field& f = fields_->fields()[static_cast<std::size_t>(index)];
    const rapidjson::Value* v = cell_value(find_cell(row, f.name, static_cast<std::size_t>(index)), wrapped);
    if (!v || v->IsNull()) return true;
    if (v->IsString()) {
        out.assign(v->GetString(), v->GetStringLength());
    } else if (v->IsNumber()) {
        JsonOut(out).number(*v, true);
    } else if (v->IsBool()) {
        out = v->GetBool() ? "true" : "false";
    } else {
        result.warnings.push_back("field " + f.name + ": an identifier must be a string or number, ignored");
        return false;
    }
    return true;
}

bool StandardRowMapper::pivot_map(const rapidjson::Value* cell, bool wrapped) const {
    if (!wrapped || !cell || !cell->IsObject() || cell->ObjectEmpty()) return false;
    if (cell->HasMember("value")) return false;
    for (const auto& m : cell->GetObject())
        if (!m.value.IsObject()) return false;
    return true;
}

void StandardRowMapper::write_trait(JsonOut& w, std::string_view key, const rapidjson::Value* v,
                                    std::string_view field, RowResult& result, bool& first) {
    const bool send_nulls = run_.options->mapping.send_nulls;
    if ((!v || v->IsNull()) && !send_nulls) return;
    if (track_keys_) {
        if (std::find(row_keys_.begin(), row_keys_.end(), key) != row_keys_.end()) {
            result.warnings.push_back("trait " + std::string(key) + " written twice, the first value kept");
            return;
        }
        row_keys_.emplace_back(key);
    }
    if (!first) w.raw(',');
    first = false;
    w.key(key);
    if (!v || v->IsNull()) {
        w.raw("null");
    } else if (v->IsObject() || v->IsArray()) {
        // Segment takes scalars only: the structure travels as its JSON text.
        result.warnings.push_back("field " + std::string(field) + ": " +
                                  (v->IsArray() ? "an array" : "an object") + " sent as JSON text");
        scratch_.clear();
        JsonOut(scratch_).value(*v, true);
        w.string(scratch_);
    } else {
        w.value(*v, true);
    }
}

void StandardRowMapper::write_traits(const rapidjson::Value& row, bool wrapped, const Ids& ids,
                                     RowResult& result, JsonOut& w) {
    const auto& list = fields_->fields();
    bool first = true;
    w.raw('{');
    for (std::size_t i = 0; i < list.size(); ++i) {
        if (static_cast<int>(i) == fields_->email_field() && !ids.email.empty()) {
            rapidjson::Value email(rapidjson::StringRef(ids.email.data(), ids.email.size()));
            write_trait(w, "email", &email, list[i].name, result, first);
        }
        if (keys_[i].empty()) continue;
        const rapidjson::Value* cell = find_cell(row, list[i].name, i);
        if (!pivot_map(cell, wrapped)) {
            write_trait(w, keys_[i], cell_value(cell, wrapped), list[i].name, result, first);
            continue;
        }
        const bool tracked = track_keys_;
        track_keys_ = true;  // generated keys can collide with anything
        for (const auto& m : cell->GetObject()) {
            const std::string_view pivot = view_of(m.name);
            std::string& pivot_key =
                pivot_used_ < pivot_keys_.size() ? pivot_keys_[pivot_used_] : pivot_keys_.emplace_back();
            ++pivot_used_;
            pivot_key.assign(keys_[i]);
            pivot_key += '_';
            if (pivot == kRowTotal) {
                pivot_key += "total";
            } else {
                pivot_key += fields_->pivot_label(pivot);
            }
            write_trait(w, pivot_key, cell_value(&m.value, true), list[i].name, result, first);
        }
        track_keys_ = tracked;
    }
    w.raw('}');
}

void StandardRowMapper::check_readiness(const Ids& ids, RowResult& result, JsonOut& w) {
    if (!run_.readiness || run_.readiness->empty()) return;
    EventFacts facts;
    facts.user_id = !ids.user_id.empty();
    facts.anonymous_id = !ids.anonymous_id.empty();
    facts.email = !ids.email.empty();
    facts.group_id = !ids.group_id.empty();
    facts.trait_keys = &row_keys_;
    run_.readiness->evaluate(facts, result.unready);
    run_.readiness->append_integrations(w, result.unready);
}

std::error_code StandardRowMapper::map(const rapidjson::Value& row, bool wrapped, RowResult& out,
                                       std::string& fatal) {
    if (!fields_ || !fields_->any_identity()) {
        fatal = kUnassigned;
        return CoreError::missing_tagged_field;
    }
    const MapperOptions& o = *run_.options;
    Ids& ids = row_ids_;  // reused: no allocation per row
    read_id(row, wrapped, fields_->user_id_field(), ids.user_id, out);
    read_id(row, wrapped, fields_->anonymous_id_field(), ids.anonymous_id, out);
    read_id(row, wrapped, fields_->email_field(), ids.email, out);
    read_id(row, wrapped, fields_->group_id_field(), ids.group_id, out);
    if (ids.user_id.empty() && ids.anonymous_id.empty() && !ids.email.empty())
        ids.anonymous_id = MessageId::email_uuid(ids.email);  // same person, same profile, every run
    if (ids.user_id.empty() && ids.anonymous_id.empty()) {
        out.reject_reason = "no user id, anonymous id or email";
        return {};
    }
    if (o.call == CallType::group && ids.group_id.empty()) {
        out.reject_reason = "no group id (the field tagged segment_group_id is empty)";
        return {};
    }
    if (o.call == CallType::track && o.event.empty()) {
        out.reject_reason = "no event name (the form field \"event\" is empty)";
        return {};
    }
    row_keys_.clear();
    pivot_used_ = 0;
    JsonOut w(out.json);
    w.raw("{\"type\":");
    w.string(call_type_name(o.call));
    if (!ids.user_id.empty()) {
        w.raw(",\"userId\":");
        w.string(ids.user_id);
    }
    if (!ids.anonymous_id.empty()) {
        w.raw(",\"anonymousId\":");
        w.string(ids.anonymous_id);
    }
    if (o.call == CallType::group) {
        w.raw(",\"groupId\":");
        w.string(ids.group_id);
    }
    if (o.call == CallType::track) {
        w.raw(",\"event\":");
        w.string(o.event);
    }
    w.raw(o.call == CallType::track ? ",\"properties\":" : ",\"traits\":");
    const std::size_t traits_begin = out.json.size();
    write_traits(row, wrapped, ids, out, w);
    const std::string_view traits(out.json.data() + traits_begin, out.json.size() - traits_begin);
    // The run is the result's ran_at when it has one, so every delivery of the same run
    // (a re-send, a retry with another webhook id, preview) gives the same ids; only
    // results without ran_at fall back to the caller's run id.
    const std::string_view run =
        run_.ran_at.empty() ? std::string_view(o.run_id) : std::string_view(run_.ran_at);
    ids_.deterministic({o.plan_id, run, call_type_name(o.call), o.event, ids.user_id, ids.anonymous_id,
                        ids.email, ids.group_id, traits},
                       out.message_id);
    w.raw(",\"context\":{");
    w.raw(kLibrary);
    if (o.call != CallType::group && !ids.group_id.empty()) {
        w.raw(",\"groupId\":");  // Totango reads the account from here
        w.string(ids.group_id);
    }
    w.raw("},\"timestamp\":");
    w.raw(run_.timestamp_json);
    w.raw(",\"messageId\":");
    w.string(out.message_id);
    check_readiness(ids, out, w);
    w.raw('}');
    return {};
}

}  // namespace lsr::core
