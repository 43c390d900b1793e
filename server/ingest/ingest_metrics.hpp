// Counters of what Looker sent us (rows accepted and rejected, executes by outcome, rows a
// configured destination would not take). Registered with the merge behaviour, so every
// instance over one registry shares the same series. Thread-safe.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/registry.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace lsr::server {

class IngestMetrics {
  public:
    explicit IngestMetrics(prometheus::Registry& registry);

    void rows_accepted(std::uint64_t n);
    void rows_rejected(std::string_view reason, std::uint64_t n);
    // outcome: success | partial | failed | rejected_request | spool_full | unauthorized
    void execute(std::string_view action, std::string_view outcome);
    void destination_not_ready(std::string_view destination, std::uint64_t n);
    // A committed sync run's rows (lsr_sync_rows_total{change}).
    void sync_rows(std::uint64_t added, std::uint64_t changed, std::uint64_t unchanged,
                   std::uint64_t removed);
    void sync_guard_refusal();

    // The reason as a label value: digit runs become "N", at most 96 characters.
    static std::string reason_label(std::string_view reason);

  private:
    prometheus::Counter& accepted_;
    prometheus::Family<prometheus::Counter>& rejected_;
    prometheus::Family<prometheus::Counter>& executes_;
    prometheus::Family<prometheus::Counter>& not_ready_;
    prometheus::Family<prometheus::Counter>& sync_rows_;
    prometheus::Counter& added_;
    prometheus::Counter& changed_;
    prometheus::Counter& unchanged_;
    prometheus::Counter& removed_;
    prometheus::Counter& guard_refusals_;
};

}  // namespace lsr::server
