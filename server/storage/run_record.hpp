// One execute as the run history keeps it (the `runs` table of the spool's database): who
// sent it, how it was synced, what it counted, what Looker was answered, and, read from the
// spool when the record is read, how far delivery of its events has come.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace lsr::server {

struct RunRecord {
    std::int64_t id = 0;     // the run's id (AUTOINCREMENT, never reused)
    std::string request_id;  // the execute's request id: batches carry it
    std::int64_t received_ms = 0;
    std::int64_t finished_ms = 0;  // 0 while it runs (or when the process died during it)
    std::string instance;          // X-Looker-Instance
    std::string plan_id;           // scheduled_plan.scheduled_plan_id
    std::string title;             // scheduled_plan.title
    std::string action;            // action name, or "webhook:<route name>"
    std::string webhook_id;        // X-Looker-Webhook-Id
    std::string sync_mode;         // all | changes | audience
    // The execute's outcome, as lsr_executes_total labels it: success | partial (rows
    // rejected) | failed | interrupted (Looker left, or the drain) | spool_full | spool_error |
    // sync_refused (the exit guard) | rejected_request (the request itself) | internal_error;
    // delivering (ack: delivered, waiting for Segment) | running (in progress) | process_ended
    // (the process ended during it: set by the next exclusive open, with finished_ms).
    std::string outcome = "running";
    std::uint64_t rows = 0;
    std::uint64_t accepted = 0;
    std::uint64_t rejected = 0;
    std::vector<std::pair<std::string, std::uint64_t>> rejected_by_reason;
    std::uint64_t added = 0;  // sync modes only (all: 0)
    std::uint64_t changed = 0;
    std::uint64_t unchanged = 0;
    std::uint64_t removed = 0;
    std::uint64_t events = 0;  // events spooled for Segment
    bool success = false;      // the answer's success
    std::string answer;        // the answer's message, as Looker got it

    // Read from the spool when the record is read (never stored): events of the run's
    // batches still queued, and those dead-lettered; delivered = events - queued - dead
    // (a batch purged by an operator counts as delivered).
    std::uint64_t queued = 0;
    std::uint64_t dead_lettered = 0;
    std::uint64_t delivered = 0;
};

}  // namespace lsr::server
