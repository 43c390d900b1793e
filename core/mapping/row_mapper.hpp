// One row of a result -> one serialized Segment event (or a rejection). Two
// implementations: HubRowMapper (the public hub's payload, quirks included) and
// StandardRowMapper (DESIGN §3's default mode).
#pragma once

#include <rapidjson/document.h>

#include <string>
#include <system_error>
#include <vector>

#include "core/mapping/destination_readiness.hpp"
#include "core/mapping/field_set.hpp"
#include "core/mapping/mapper_options.hpp"

namespace lsr::core {

// Facts of the run every row shares; ResultMapper fills them as the result arrives.
struct RunState {
    const MapperOptions* options = nullptr;
    const DestinationReadiness* readiness = nullptr;
    std::string timestamp_json;  // "\"2017-07-28T02:25:19.000Z\"" (or null for the hub's Invalid Date)
    std::string ran_at;          // as the result gave it
};

struct RowResult {
    std::string json;
    std::string message_id;
    std::string reject_reason;          // non-empty: the row is rejected
    std::vector<std::string> warnings;  // the row is sent, with these remarks
    std::vector<const Destination*> unready;

    void clear() {
        json.clear();
        message_id.clear();
        reject_reason.clear();
        warnings.clear();
        unready.clear();
    }
};

class RowMapper {
  public:
    virtual ~RowMapper() = default;
    // Once the fields are known (json_detail's `fields`, a csv header).
    virtual void prepare(const FieldSet& fields) = 0;
    // An error stops the run; `fatal` then holds the text for Looker.
    virtual std::error_code map(const rapidjson::Value& row, bool wrapped, RowResult& out,
                                std::string& fatal) = 0;
};

}  // namespace lsr::core
