// The public Looker Action Hub's Segment payload, field for field (reference Part 2):
// trait keys are field names, the raw value passes when truthy or 0, anything else goes
// through the hub's pivot flattening (null stays null, false and "" become [], pivots
// become [{key: value}], a null inside a pivot aborts the run), userId comes from the
// first user_id or segment_anonymous_id field, a fresh random anonymousId per id-less
// row, groupId whenever a group field exists, analytics-node's context, _metadata and
// messageId, and its validation texts.
#pragma once

#include <functional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "core/mapping/message_id.hpp"
#include "core/mapping/row_mapper.hpp"

namespace lsr::core {

class HubRowMapper final : public RowMapper {
  public:
    explicit HubRowMapper(const RunState& run);

    void prepare(const FieldSet& fields) override;
    std::error_code map(const rapidjson::Value& row, bool wrapped, RowResult& out,
                        std::string& fatal) override;

  private:
    struct Trait {
        std::string_view key;
        std::string_view key_json;                // "key": as written
        const rapidjson::Value* value = nullptr;  // kind value
        bool is_null = false;
        bool is_pivot = false;  // items [pivot_begin, pivot_end)
        std::size_t pivot_begin = 0, pivot_end = 0;
    };
    struct PivotItem {
        std::string_view key;   // an object member's name, or
        std::size_t index = 0;  // an array element's position when is_index
        bool is_index = false;
        const rapidjson::Value* value = nullptr;
    };

    std::error_code collect_traits(const rapidjson::Value& row, bool wrapped, std::string& fatal);
    void set_trait(const Trait& trait);
    bool flatten(const rapidjson::Value& obj, bool& is_null);
    bool flatten_child(std::string_view key, std::size_t index, bool is_index, const rapidjson::Value& child,
                       bool& is_null);
    void write_traits(JsonOut& out) const;
    void write_id(JsonOut& out, std::string_view key, const rapidjson::Value* v);
    void append_uuid(std::string& out);
    const std::string& tail();

    const RunState& run_;
    const FieldSet* fields_ = nullptr;
    std::vector<std::string> key_json_;  // per field, its "name": (set by prepare)
    bool unique_keys_ = false;           // no two traits can share a key: no search on insert
    // The event's constant end, from "event" to "_metadata", for the run's timestamp.
    std::string tail_;
    std::string tail_timestamp_;
    bool tail_ready_ = false;
    std::vector<Trait> traits_;
    std::vector<PivotItem> pivot_items_;
    // Scratch reused from row to row, so a row allocates nothing once they have grown.
    std::vector<const rapidjson::Value::Member*> members_;  // flatten's members, a range per level
    std::vector<std::string_view> trait_keys_;
    std::string id_text_;
    std::string anon_text_;
    MessageId message_ids_;
    std::mt19937_64 random_;
    bool seeded_ = false;
};

}  // namespace lsr::core
