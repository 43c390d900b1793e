#include "core/mapping/field_set.hpp"

#include <algorithm>

#include "core/text.hpp"

namespace lsr::core {
namespace {

std::string text_member(const rapidjson::Value& obj, const char* name) {
    auto it = obj.FindMember(name);
    if (it == obj.MemberEnd() || !it->value.IsString()) return {};
    return {it->value.GetString(), it->value.GetStringLength()};
}

bool has_tag(const rapidjson::Value& field, std::string_view tag) {
    auto it = field.FindMember("tags");
    if (it == field.MemberEnd() || !it->value.IsArray()) return false;
    for (const auto& t : it->value.GetArray())
        if (t.IsString() && std::string_view(t.GetString(), t.GetStringLength()) == tag) return true;
    return false;
}

bool names_field(const Field& f, const std::string& wanted) {
    return !wanted.empty() &&
           (equals_ci(f.name, wanted) || equals_ci(f.label, wanted) || equals_ci(f.label_short, wanted));
}

// "a=1|b=2" style labels are not what admins read: join the pivot's dimension values.
std::string pivot_label_of(const rapidjson::Value& pivot) {
    auto data = pivot.FindMember("data");
    if (data == pivot.MemberEnd() || !data->value.IsObject()) return {};
    std::string label;
    for (const auto& m : data->value.GetObject()) {
        if (!label.empty()) label += "_";
        if (m.value.IsString()) {
            label.append(m.value.GetString(), m.value.GetStringLength());
        } else if (m.value.IsInt64()) {
            label += std::to_string(m.value.GetInt64());
        } else if (m.value.IsBool()) {
            label += m.value.GetBool() ? "true" : "false";
        } else if (m.value.IsNumber()) {
            label += std::to_string(m.value.GetDouble());
        }
    }
    return label;
}

}  // namespace

FieldSet FieldSet::from_json_detail(const rapidjson::Value& fields, const std::vector<std::string>& hidden) {
    FieldSet set;
    if (!fields.IsObject()) return set;
    const std::pair<const char*, FieldKind> groups[] = {{"dimensions", FieldKind::dimension},
                                                        {"measures", FieldKind::measure},
                                                        {"filters", FieldKind::filter},
                                                        {"parameters", FieldKind::parameter},
                                                        {"table_calculations", FieldKind::table_calculation}};
    for (const auto& [group, kind] : groups) {
        auto it = fields.FindMember(group);
        if (it == fields.MemberEnd() || !it->value.IsArray()) continue;
        for (const auto& f : it->value.GetArray()) {
            if (!f.IsObject()) continue;
            Field field;
            field.name = text_member(f, "name");
            if (field.name.empty()) continue;
            field.label = text_member(f, "label");
            field.label_short = text_member(f, "label_short");
            field.kind = kind;
            field.tag_user_id = has_tag(f, "user_id");
            field.tag_anonymous_id = has_tag(f, "segment_anonymous_id");
            field.tag_email = has_tag(f, "email");
            field.tag_group_id = has_tag(f, "segment_group_id");
            field.hidden = std::find(hidden.begin(), hidden.end(), field.name) != hidden.end();
            set.fields_.push_back(std::move(field));
        }
    }
    auto pivots = fields.FindMember("pivots");
    if (pivots != fields.MemberEnd() && pivots->value.IsArray()) {
        for (const auto& p : pivots->value.GetArray()) {
            if (!p.IsObject()) continue;
            const std::string key = text_member(p, "key");
            std::string label = pivot_label_of(p);
            if (!key.empty() && !label.empty()) set.pivot_labels_[key] = std::move(label);
        }
    }
    set.resolve_roles();
    return set;
}

FieldSet FieldSet::from_columns(const std::vector<std::string>& names,
                                const std::vector<std::string>& hidden) {
    FieldSet set;
    for (const std::string& name : names) {
        Field field;
        field.name = name;
        field.hidden = std::find(hidden.begin(), hidden.end(), name) != hidden.end();
        set.fields_.push_back(std::move(field));
    }
    set.resolve_roles();
    return set;
}

void FieldSet::apply_identity_columns(const core::IdentityColumns& identity) {
    if (any_identity()) return;  // tags win
    for (Field& f : fields_) {
        f.tag_user_id = names_field(f, identity.user_id);
        f.tag_anonymous_id = names_field(f, identity.anonymous_id);
        f.tag_email = names_field(f, identity.email);
        f.tag_group_id = names_field(f, identity.group_id);
    }
    resolve_roles();
}

void FieldSet::resolve_roles() {
    id_field_ = user_id_field_ = anonymous_id_field_ = email_field_ = group_id_field_ = -1;
    for (std::size_t i = 0; i < fields_.size(); ++i) {
        const Field& f = fields_[i];
        const int n = static_cast<int>(i);
        if (id_field_ < 0 && (f.tag_user_id || f.tag_anonymous_id)) id_field_ = n;
        if (user_id_field_ < 0 && f.tag_user_id) user_id_field_ = n;
        if (anonymous_id_field_ < 0 && f.tag_anonymous_id) anonymous_id_field_ = n;
        if (email_field_ < 0 && f.tag_email) email_field_ = n;
        if (group_id_field_ < 0 && f.tag_group_id) group_id_field_ = n;
    }
}

bool FieldSet::any_identity() const {
    return std::any_of(fields_.begin(), fields_.end(), [](const Field& f) { return f.identity(); });
}

bool FieldSet::is_identity_name(std::string_view name) const {
    return std::any_of(fields_.begin(), fields_.end(),
                       [&](const Field& f) { return f.identity() && f.name == name; });
}

std::string_view FieldSet::pivot_label(std::string_view key) const {
    auto it = pivot_labels_.find(key);
    return it == pivot_labels_.end() ? key : std::string_view(it->second);
}

}  // namespace lsr::core
