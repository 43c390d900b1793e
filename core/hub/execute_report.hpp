// The answer to an execute, decided in one place: from what the run ended with (the
// mapping summary, the events spooled, a spool refusal or a failure, and for `ack:
// delivered` what Segment settled) to the HTTP status, success, message and body Looker
// reads. The hub's texts and JSON shapes (reference §1.3) live here and nowhere else.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/mapping/mapping_summary.hpp"

namespace lsr::core {

// Why the spool took no more of the result.
enum class SpoolRefusal {
    none,
    full,       // spool.max_bytes reached
    low_space,  // the disk is below spool.min_free_bytes
    error,      // any other storage error (its text in ExecuteOutcome::spool_error)
};

// What a run of the execute pipeline ended with.
struct ExecuteOutcome {
    std::uint64_t spooled_events = 0;
    SpoolRefusal spool = SpoolRefusal::none;
    std::string spool_error;             // SpoolRefusal::error: the storage error's text
    std::optional<std::string> failure;  // the reader's or mapper's error; empty: generic text
    bool interrupted = false;            // the failure came from Looker leaving or the drain
    // Cohort sync (changes, audience): the run's counts text ("… rows: 3 changed, …; 4 events
    // queued."), said instead of the accepted/rejected counts; a refusal of the whole run (the
    // exit guard, another run of the schedule in progress); a run given up after a failure,
    // which sent nothing and left the baseline as it was.
    std::optional<std::string> sync_message;
    std::optional<std::string> sync_refusal;
    bool sync_discarded = false;
};

// What Segment settled of a run's events, for `ack: delivered`.
struct SettledEvents {
    std::uint64_t delivered = 0;
    std::uint64_t dead = 0;
};

class ExecuteReport {
  public:
    int status = 200;  // HTTP status of a non-streamed answer
    bool success = true;
    std::string message;       // the looker body's message
    bool retry_after = false;  // 503: send Retry-After
    std::string_view outcome;  // the metrics label: success, partial, failed, ...
    static constexpr std::string_view kRetryAfterSeconds = "30";

    // The answer once every row was read (or the run stopped).
    static ExecuteReport of(const MappingSummary& summary, const ExecuteOutcome& outcome,
                            std::size_t max_reasons);
    // `ack: delivered`: the mapped report extended with what Segment settled of `spooled`
    // events; `all_settled` false when the wait ended first (deadline, drain, Looker gone).
    static ExecuteReport delivered(const ExecuteReport& mapped, std::uint64_t spooled,
                                   const SettledEvents& settled);

    std::string body() const { return looker_body(success, message); }

    // {"looker":{"success":…,"message":…,"refresh_query":false,"validation_errors":{}}};
    // the message is left out when empty.
    static std::string looker_body(bool success, std::string_view message);
    // A refused setting, in the hub's validation_errors shape: success false, the problem as
    // the message and as validation_errors[param].
    static std::string validation_body(std::string_view param, std::string_view problem);
    // {"success":false,"error":…}: a request refused before any work.
    static std::string error_body(std::string_view error);
    // The hub's form answer for a settings problem: {"error":…}.
    static std::string form_error_body(std::string_view error);
    static constexpr std::string_view kInternalError = "Internal server error.";
};

}  // namespace lsr::core
