#include "core/hub/execute_report.hpp"

#include "core/hub/execute_answer.hpp"
#include "core/json_out.hpp"
#include "core/text.hpp"

namespace lsr::core {

namespace {

std::string plural(std::uint64_t n, std::string_view one, std::string_view many) {
    return std::to_string(n) + " " + std::string(n == 1 ? one : many);
}

// Request values can be echoed in a message: whatever their bytes, the answer is valid UTF-8.
void text(JsonOut& out, std::string_view s) {
    out.string(valid_utf8_text(s));
}

std::string looker_answer(bool success, std::string_view message, std::string_view param,
                          std::string_view problem) {
    std::string body;
    JsonOut out(body);
    out.raw('{');
    out.key("looker");
    out.raw('{');
    out.key("success");
    out.raw(success ? "true" : "false");
    if (!message.empty()) {
        out.raw(',');
        out.key("message");
        text(out, message);
    }
    out.raw(',');
    out.key("refresh_query");
    out.raw("false");
    out.raw(',');
    out.key("validation_errors");
    out.raw('{');
    if (!param.empty()) {
        text(out, param);
        out.raw(':');
        text(out, problem);
    }
    out.raw("}}}");
    return body;
}

}  // namespace

ExecuteReport ExecuteReport::of(const MappingSummary& summary, const ExecuteOutcome& outcome,
                                std::size_t max_reasons) {
    ExecuteReport r;
    if (outcome.spool != SpoolRefusal::none) {
        switch (outcome.spool) {
            case SpoolRefusal::full:
                r.message =
                    "The relay's spool is full (spool.max_bytes), so the rest of the result was not "
                    "accepted; retry later.";
                r.outcome = "spool_full";
                break;
            case SpoolRefusal::low_space:
                r.message =
                    "The relay's disk is nearly full (below spool.min_free_bytes), so the rest of the result "
                    "was not accepted; retry later.";
                r.outcome = "spool_full";
                break;
            default:
                r.message = "The relay could not store the rows (" + outcome.spool_error +
                            "), so the rest of the result was not accepted; retry later.";
                r.outcome = "spool_error";
        }
        r.message += ExecuteAnswer::accepted_so_far(outcome.spooled_events);
        r.status = 503;
        r.success = false;
        r.retry_after = true;
        return r;
    }
    if (outcome.sync_refusal) {
        r.message = *outcome.sync_refusal;
        r.success = false;
        r.outcome = "sync_refused";
        return r;
    }
    if (outcome.failure && outcome.sync_discarded) {
        r.message = ExecuteAnswer::failure_message(*outcome.failure, 0);
        r.message +=
            " Nothing of this run was sent and the schedule's baseline is unchanged: the next run is "
            "compared with the last whole one.";
        r.success = false;
        r.outcome = outcome.interrupted ? "interrupted" : "failed";
        return r;
    }
    if (outcome.failure) {
        r.message = ExecuteAnswer::failure_message(*outcome.failure, outcome.spooled_events);
        r.success = false;
        r.outcome = outcome.interrupted ? "interrupted" : "failed";
        return r;
    }
    r.message = outcome.sync_message ? *outcome.sync_message + summary.details(max_reasons)
                                     : summary.message(max_reasons);
    r.success = summary.rejected == 0;
    r.outcome = r.success ? "success" : "partial";
    return r;
}

ExecuteReport ExecuteReport::delivered(const ExecuteReport& mapped, std::uint64_t spooled,
                                       const SettledEvents& settled) {
    // Counted in events, not batches: a batch split after a 400/413 settles in parts.
    ExecuteReport r = mapped;
    const bool all_settled = settled.delivered + settled.dead >= spooled;
    if (all_settled && settled.dead == 0) {
        r.message +=
            " All " + plural(settled.delivered, "event was", "events were") + " delivered to Segment.";
        return r;
    }
    r.success = false;
    r.message += " Delivered to Segment so far: " + std::to_string(settled.delivered) + " of " +
                 std::to_string(spooled) + " events";
    if (settled.dead > 0)
        r.message +=
            "; " + plural(settled.dead, "event was", "events were") + " refused by Segment (dead letters)";
    if (!all_settled) r.message += "; the others are still queued and will be delivered";
    r.message += ".";
    return r;
}

std::string ExecuteReport::looker_body(bool success, std::string_view message) {
    return looker_answer(success, message, {}, {});
}

std::string ExecuteReport::validation_body(std::string_view param, std::string_view problem) {
    return looker_answer(false, problem, param, problem);
}

std::string ExecuteReport::error_body(std::string_view error) {
    std::string body;
    JsonOut out(body);
    out.raw('{');
    out.key("success");
    out.raw("false,");
    out.key("error");
    text(out, error);
    out.raw('}');
    return body;
}

std::string ExecuteReport::form_error_body(std::string_view error) {
    std::string body;
    JsonOut out(body);
    out.raw('{');
    out.key("error");
    text(out, error);
    out.raw('}');
    return body;
}

}  // namespace lsr::core
