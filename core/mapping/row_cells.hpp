// Reading cells out of a parsed row. json_detail rows map a field name to a cell object
// ({"value": ..., "rendered": ..., "links": ...}); json and csv rows map it to the value.
#pragma once

#include <rapidjson/document.h>

#include <cstddef>
#include <string_view>

namespace lsr::core {

inline std::string_view view_of(const rapidjson::Value& s) {
    return {s.GetString(), s.GetStringLength()};
}

// The member named `name`; `hint` is where it usually is (fields and cells come in the
// same order), which makes the common case one comparison.
inline const rapidjson::Value* find_cell(const rapidjson::Value& row, std::string_view name,
                                         std::size_t hint) {
    if (!row.IsObject()) return nullptr;
    if (hint < row.MemberCount()) {
        const auto& m = row.MemberBegin()[static_cast<rapidjson::SizeType>(hint)];
        if (view_of(m.name) == name) return &m.value;
    }
    for (const auto& m : row.GetObject())
        if (view_of(m.name) == name) return &m.value;
    return nullptr;
}

// The raw value of a cell; nullptr when it has none (JavaScript's undefined).
inline const rapidjson::Value* cell_value(const rapidjson::Value* cell, bool wrapped) {
    if (!cell) return nullptr;
    if (!wrapped) return cell;
    if (!cell->IsObject()) return nullptr;
    auto it = cell->FindMember("value");
    return it == cell->MemberEnd() ? nullptr : &it->value;
}

// JavaScript truthiness of a JSON value; undefined is falsy.
inline bool js_truthy(const rapidjson::Value* v) {
    if (!v) return false;
    switch (v->GetType()) {
        case rapidjson::kNullType:
        case rapidjson::kFalseType:
            return false;
        case rapidjson::kTrueType:
            return true;
        case rapidjson::kStringType:
            return v->GetStringLength() > 0;
        case rapidjson::kNumberType:
            return v->GetDouble() != 0;
        default:
            return true;  // objects and arrays, even empty
    }
}

inline bool js_is_zero(const rapidjson::Value* v) {
    return v && v->IsNumber() && v->GetDouble() == 0;
}

}  // namespace lsr::core
