// The fields of a result and their roles. With json_detail the roles come from LookML
// tags, as in the public hub (user_id, segment_anonymous_id, email, segment_group_id);
// formats without tags (csv, txt, json) and untagged queries take them from the configured
// identity columns instead.
#pragma once

#include <rapidjson/document.h>

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/mapping/mapping_settings.hpp"

namespace lsr::core {

enum class FieldKind { dimension, measure, filter, parameter, table_calculation, column };

struct Field {
    std::string name;         // "users.sessions_count", or a column header
    std::string label;        // "Users Sessions Count"
    std::string label_short;  // "Sessions Count"
    FieldKind kind = FieldKind::column;
    bool tag_user_id = false;
    bool tag_anonymous_id = false;
    bool tag_email = false;
    bool tag_group_id = false;
    bool hidden = false;  // listed in query.vis_config.hidden_fields

    bool identity() const { return tag_user_id || tag_anonymous_id || tag_email || tag_group_id; }
};

class FieldSet {
  public:
    // `fields` of json_detail: dimensions, measures, filters, parameters, table_calculations,
    // in that order (the hub's order, so the first tagged dimension wins); `pivots` gives
    // the labels of pivot keys.
    static FieldSet from_json_detail(const rapidjson::Value& fields, const std::vector<std::string>& hidden);
    // Column names of an untagged format (csv header, keys of the first json row).
    static FieldSet from_columns(const std::vector<std::string>& names,
                                 const std::vector<std::string>& hidden);

    // Gives roles by name to the configured identity columns when no field is tagged.
    // Matches a field's name, label or short label, case-insensitively.
    void apply_identity_columns(const core::IdentityColumns& identity);

    const std::vector<Field>& fields() const { return fields_; }
    bool any_identity() const;                  // the hub's "unassigned fields" check
    int id_field() const { return id_field_; }  // first user_id or segment_anonymous_id (the hub's userId)
    int user_id_field() const { return user_id_field_; }
    int anonymous_id_field() const { return anonymous_id_field_; }
    int email_field() const { return email_field_; }
    int group_id_field() const { return group_id_field_; }
    bool is_identity_name(std::string_view name) const;
    // "f" -> "2017-01" from fields.pivots[].data; the key itself when unknown.
    std::string_view pivot_label(std::string_view key) const;

  private:
    void resolve_roles();

    std::vector<Field> fields_;
    std::map<std::string, std::string, std::less<>> pivot_labels_;
    int id_field_ = -1;
    int user_id_field_ = -1;
    int anonymous_id_field_ = -1;
    int email_field_ = -1;
    int group_id_field_ = -1;
};

}  // namespace lsr::core
