// DESIGN §3's default mode: short trait keys (full name only on a collision; or the
// lower-cased short label; a rename map; table calculations keep their name), raw
// values with 0/false/"" kept and nulls left out (or sent, by config), pivots flattened
// to <key>_<pivot> and <key>_total, other arrays/objects sent as JSON text with a row
// warning, an email trait, a string userId, an anonymousId derived from the email when
// there is no id, context.groupId, and a deterministic messageId.
#pragma once

#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "core/mapping/message_id.hpp"
#include "core/mapping/row_mapper.hpp"

namespace lsr::core {

class StandardRowMapper final : public RowMapper {
  public:
    explicit StandardRowMapper(const RunState& run);

    void prepare(const FieldSet& fields) override;
    std::error_code map(const rapidjson::Value& row, bool wrapped, RowResult& out,
                        std::string& fatal) override;

    // The trait key of each field, as prepare() chose it (empty for id fields).
    const std::vector<std::string>& trait_keys() const { return keys_; }

  private:
    struct Ids {
        std::string user_id, anonymous_id, email, group_id;
    };

    bool read_id(const rapidjson::Value& row, bool wrapped, int index, std::string& out,
                 RowResult& result) const;
    void write_traits(const rapidjson::Value& row, bool wrapped, const Ids& ids, RowResult& result,
                      JsonOut& w);
    void write_trait(JsonOut& w, std::string_view key, const rapidjson::Value* v, std::string_view field,
                     RowResult& result, bool& first);
    bool pivot_map(const rapidjson::Value* cell, bool wrapped) const;
    void check_readiness(const Ids& ids, RowResult& result, JsonOut& w);

    const RunState& run_;
    const FieldSet* fields_ = nullptr;
    std::vector<std::string> keys_;
    // Keys written in this row, when they must be checked: views of keys_, of literals and of
    // pivot_keys_, whose first pivot_used_ entries are this row's generated pivot keys (a
    // deque: its strings never move, and keep their memory from row to row).
    std::vector<std::string_view> row_keys_;
    std::deque<std::string> pivot_keys_;
    std::size_t pivot_used_ = 0;
    bool track_keys_ = false;
    std::string scratch_;
    Ids row_ids_;
    MessageId ids_;
};

}  // namespace lsr::core
