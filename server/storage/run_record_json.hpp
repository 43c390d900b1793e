// A run of the history as JSON, the same text for GET /runs, GET /runs/{id} and
// `looker-segment-relay runs --json`. Fields as RunRecord names them; each time twice: ISO-8601
// UTC ("received") and epoch milliseconds ("received_ms"); an unfinished run's "finished" and
// "finished_ms" are null. rejected_by_reason is an object {"<reason>": count}.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "server/storage/run_record.hpp"

namespace lsr::server {

class RunRecordJson {
  public:
    static std::string object(const RunRecord& r);
    // {"runs":[…],"next":"/runs?before=N"} (newest first); "next" is null when
    // next_before_id is 0 (no older page).
    static std::string page(const std::vector<RunRecord>& runs, std::int64_t next_before_id);
    // Appends object(r) to `out`.
    static void append(std::string& out, const RunRecord& r);
};

}  // namespace lsr::server
