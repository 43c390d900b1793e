#include "core/hub/execute_report.hpp"

#include <catch2/catch.hpp>

using lsr::core::ExecuteOutcome;
using lsr::core::ExecuteReport;
using lsr::core::MappingSummary;
using lsr::core::SpoolRefusal;

namespace {

MappingSummary summary(std::uint64_t rows, std::uint64_t accepted, std::uint64_t rejected) {
    MappingSummary s;
    s.rows = rows;
    s.accepted = accepted;
    s.rejected = rejected;
    if (rejected) s.rejected_by_reason["missing_identity"] = rejected;
    return s;
}

}  // namespace

TEST_CASE("ExecuteReport: outcome to status, success, message and metrics label", "[execute_report]") {
    struct Row {
        const char* name;
        MappingSummary summary;
        ExecuteOutcome outcome;
        int status;
        bool success;
        bool retry_after;
        std::string_view label;
        std::string message;
    };
    auto failed = [](std::string why, std::uint64_t spooled, bool interrupted) {
        ExecuteOutcome o;
        o.failure = std::move(why);
        o.spooled_events = spooled;
        o.interrupted = interrupted;
        return o;
    };
    auto refused = [](SpoolRefusal r, std::uint64_t spooled, std::string error = {}) {
        ExecuteOutcome o;
        o.spool = r;
        o.spooled_events = spooled;
        o.spool_error = std::move(error);
        return o;
    };
    ExecuteOutcome done;
    done.spooled_events = 3;
    const Row rows[] = {
        {"all accepted", summary(3, 3, 0), done, 200, true, false, "success",
         "3 rows: 3 accepted, 0 rejected."},
        {"none", summary(0, 0, 0), ExecuteOutcome{}, 200, true, false, "success",
         "0 rows: 0 accepted, 0 rejected."},
        {"some rejected", summary(3, 2, 1), done, 200, false, false, "partial",
         "3 rows: 2 accepted, 1 rejected."},
        {"mapper failed", summary(3, 1, 0),
         failed("Field id u.x does not exist for JsonDetail.Row", 1, false), 200, false, false, "failed",
         "Field id u.x does not exist for JsonDetail.Row. 1 row was accepted before that and will be "
         "delivered."},
        {"generic failure", summary(0, 0, 0), failed("", 0, false), 200, false, false, "failed",
         "The result could not be processed. No rows were accepted."},
        {"interrupted", summary(5, 5, 0),
         failed("Looker closed the connection before the result was read", 4, true), 200, false, false,
         "interrupted",
         "Looker closed the connection before the result was read. 4 rows were accepted before that and will "
         "be delivered."},
        {"spool full", summary(9, 9, 0), refused(SpoolRefusal::full, 2), 503, false, true, "spool_full",
         "The relay's spool is full (spool.max_bytes), so the rest of the result was not accepted; retry "
         "later. 2 rows were accepted before that and will be delivered."},
        {"low space", summary(9, 9, 0), refused(SpoolRefusal::low_space, 0), 503, false, true, "spool_full",
         "The relay's disk is nearly full (below spool.min_free_bytes), so the rest of the result was not "
         "accepted; retry later. No rows were accepted."},
        {"spool error", summary(9, 9, 0), refused(SpoolRefusal::error, 1, "disk I/O error"), 503, false, true,
         "spool_error",
         "The relay could not store the rows (disk I/O error), so the rest of the result was not accepted; "
         "retry later. 1 row was accepted before that and will be delivered."},
    };
    for (const auto& row : rows) {
        INFO(row.name);
        const auto r = ExecuteReport::of(row.summary, row.outcome, 3);
        CHECK(r.status == row.status);
        CHECK(r.success == row.success);
        CHECK(r.retry_after == row.retry_after);
        CHECK(r.outcome == row.label);
        CHECK(r.message == row.message);
        CHECK(r.body() == ExecuteReport::looker_body(row.success, row.message));
    }
}

TEST_CASE("ExecuteReport: ack: delivered extends the message with what Segment settled", "[execute_report]") {
    ExecuteReport mapped;
    mapped.message = "3 rows: 3 accepted, 0 rejected.";
    mapped.outcome = "success";
    struct Row {
        std::uint64_t spooled, delivered, dead;
        bool success;
        std::string tail;
    };
    const Row rows[] = {
        {3, 3, 0, true, " All 3 events were delivered to Segment."},
        {1, 1, 0, true, " All 1 event was delivered to Segment."},
        {3, 2, 1, false,
         " Delivered to Segment so far: 2 of 3 events; 1 event was refused by Segment (dead letters)."},
        {3, 1, 0, false,
         " Delivered to Segment so far: 1 of 3 events; the others are still queued and will be delivered."},
        {5, 1, 2, false,
         " Delivered to Segment so far: 1 of 5 events; 2 events were refused by Segment (dead letters); the "
         "others are still queued and will be delivered."},
    };
    for (const auto& row : rows) {
        const auto r = ExecuteReport::delivered(mapped, row.spooled, {row.delivered, row.dead});
        CHECK(r.success == row.success);
        CHECK(r.message == mapped.message + row.tail);
        CHECK(r.status == 200);
    }
    ExecuteReport partial = mapped;
    partial.success = false;  // rows were rejected: never a success, however delivery went
    CHECK_FALSE(ExecuteReport::delivered(partial, 3, {3, 0}).success);
}

TEST_CASE("ExecuteReport: the hub's bodies, valid UTF-8 whatever the bytes", "[execute_report]") {
    CHECK(ExecuteReport::looker_body(true, "") ==
          R"({"looker":{"success":true,"refresh_query":false,"validation_errors":{}}})");
    CHECK(
        ExecuteReport::looker_body(false, "a \"b\"\n") ==
        R"({"looker":{"success":false,"message":"a \"b\"\n","refresh_query":false,"validation_errors":{}}})");
    CHECK(ExecuteReport::validation_body("segment_write_key", "bad \xff") ==
          "{\"looker\":{\"success\":false,\"message\":\"bad \xef\xbf\xbd\",\"refresh_query\":false,"
          "\"validation_errors\":{\"segment_write_key\":\"bad \xef\xbf\xbd\"}}}");
    CHECK(ExecuteReport::error_body("x\xc3") == "{\"success\":false,\"error\":\"x\xef\xbf\xbd\"}");
    CHECK(ExecuteReport::form_error_body("No \"key\"") == R"({"error":"No \"key\""})");
}
