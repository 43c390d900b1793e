#include "server/ingest/ingest_metrics.hpp"

#include <string>

namespace lsr::server {

IngestMetrics::IngestMetrics(prometheus::Registry& registry)
    : accepted_(prometheus::BuildCounter()
                    .Name("lsr_rows_accepted_total")
                    .Help("Rows turned into events and accepted (spooled) for delivery")
                    .Register(registry)
                    .Add({})),
      rejected_(prometheus::BuildCounter()
                    .Name("lsr_rows_rejected_total")
                    .Help("Rows not accepted, by reason")
                    .Register(registry)),
      executes_(prometheus::BuildCounter()
                    .Name("lsr_executes_total")
                    .Help("Execute and webhook requests, by action and outcome")
                    .Register(registry)),
      not_ready_(prometheus::BuildCounter()
                     .Name("lsr_destination_not_ready_rows_total")
                     .Help("Accepted rows that lack what a configured destination needs")
                     .Register(registry)),
      sync_rows_(
          prometheus::BuildCounter()
              .Name("lsr_sync_rows_total")
              .Help(
                  "Rows of sync runs (changes, audience) compared with their schedule's baseline, by change")
              .Register(registry)),
      added_(sync_rows_.Add({{"change", "added"}})),
      changed_(sync_rows_.Add({{"change", "changed"}})),
      unchanged_(sync_rows_.Add({{"change", "unchanged"}})),
      removed_(sync_rows_.Add({{"change", "removed"}})),
      guard_refusals_(
          prometheus::BuildCounter()
              .Name("lsr_sync_guard_refusals_total")
              .Help("Sync runs refused by the exit guard (sync.max_exit_fraction, or an empty result)")
              .Register(registry)
              .Add({})) {}

void IngestMetrics::sync_rows(std::uint64_t added, std::uint64_t changed, std::uint64_t unchanged,
                              std::uint64_t removed) {
    added_.Increment(static_cast<double>(added));
    changed_.Increment(static_cast<double>(changed));
    unchanged_.Increment(static_cast<double>(unchanged));
    removed_.Increment(static_cast<double>(removed));
}

void IngestMetrics::sync_guard_refusal() {
    guard_refusals_.Increment();
}

void IngestMetrics::rows_accepted(std::uint64_t n) {
    if (n > 0) accepted_.Increment(static_cast<double>(n));
}

std::string IngestMetrics::reason_label(std::string_view reason) {
    // Reasons may carry numbers ("event is 40123 bytes ..."); the label keeps their shape only,
    // so the number of series stays bounded.
    std::string out;
    bool in_digits = false;
    for (char c : reason) {
        if (c >= '0' && c <= '9') {
            if (!in_digits) out += 'N';
            in_digits = true;
            continue;
        }
        in_digits = false;
        out += c;
        if (out.size() >= 96) break;
    }
    return out.empty() ? std::string("unknown") : out;
}

void IngestMetrics::rows_rejected(std::string_view reason, std::uint64_t n) {
    if (n > 0) rejected_.Add({{"reason", reason_label(reason)}}).Increment(static_cast<double>(n));
}

void IngestMetrics::execute(std::string_view action, std::string_view outcome) {
    executes_.Add({{"action", std::string(action)}, {"outcome", std::string(outcome)}}).Increment();
}

void IngestMetrics::destination_not_ready(std::string_view destination, std::uint64_t n) {
    if (n > 0) not_ready_.Add({{"destination", std::string(destination)}}).Increment(static_cast<double>(n));
}

}  // namespace lsr::server
