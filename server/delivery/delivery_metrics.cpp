#include "server/delivery/delivery_metrics.hpp"

#include <algorithm>
#include <string>

#include "core/delivery/delivery_outcome.hpp"
#include "core/delivery/write_key_queue.hpp"
#include "core/text.hpp"
#include "server/storage/spool.hpp"
#include "server/storage/sync_store.hpp"

namespace lsr::server {

namespace {

prometheus::Counter& counter(prometheus::Registry& r, const char* name, const char* help) {
    return prometheus::BuildCounter().Name(name).Help(help).Register(r).Add({});
}

prometheus::Gauge& gauge(prometheus::Registry& r, const char* name, const char* help,
                         const prometheus::Labels& labels = {}) {
    return prometheus::BuildGauge().Name(name).Help(help).Register(r).Add(labels);
}

}  // namespace

DeliveryMetrics::DeliveryMetrics(prometheus::Registry& r, std::uint64_t spool_limit_bytes)
    : events_(prometheus::BuildCounter()
                  .Name("lsr_segment_events_total")
                  .Help("Events in requests to Segment, by answer status class")
                  .Register(r)),
      batches_(prometheus::BuildCounter()
                   .Name("lsr_segment_batches_total")
                   .Help("Batch requests to Segment, by answer status class (network: no answer)")
                   .Register(r)),
      retries_(counter(r, "lsr_segment_retries_total", "Batches rescheduled for another attempt")),
      split_batches_(
          counter(r, "lsr_segment_split_batches_total", "Batches split in halves after a 400 or 413")),
      dead_lettered_(prometheus::BuildCounter()
                         .Name("lsr_dead_lettered_events_total")
                         .Help("Events moved to the dead letters, by reason")
                         .Register(r)),
      delivered_(counter(r, "lsr_delivered_events_total", "Events Segment accepted (2xx)")),
      duration_(prometheus::BuildHistogram()
                    .Name("lsr_segment_request_duration_seconds")
                    .Help("Duration of requests to Segment, connect to answer")
                    .Register(r)
                    .Add({}, prometheus::Histogram::BucketBoundaries{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                                                     1, 2.5, 5, 10, 30})),
      retry_after_seconds_(counter(r, "lsr_segment_retry_after_seconds_total",
                                   "Seconds of pause Segment asked for with Retry-After, summed")),
      rate_limited_(counter(r, "lsr_segment_rate_limited_total", "429 answers from Segment")),
      last_success_(gauge(r, "lsr_segment_last_success_timestamp_seconds",
                          "Wall time of the last 2xx answer from Segment, seconds since the epoch")),
      queue_events_(gauge(r, "lsr_queue_events", "Events in the spool waiting for delivery")),
      queue_batches_(gauge(r, "lsr_queue_batches", "Batches in the spool waiting for delivery")),
      oldest_age_(gauge(r, "lsr_oldest_queued_event_age_seconds", "Age of the oldest queued event")),
      spool_queued_bytes_(gauge(r, "lsr_spool_queued_bytes",
                                "Bytes of the batch bodies waiting for delivery, as stored (compressed)")),
      spool_file_bytes_(
          gauge(r, "lsr_spool_file_bytes",
                "Bytes of the spool's files on disk (database and WAL), bounded by spool.max_bytes")),
      dead_letters_(gauge(r, "lsr_dead_letters", "Batches in the dead-letter table")),
      spool_limit_(gauge(r, "lsr_spool_limit_bytes", "spool.max_bytes: the bound of lsr_spool_file_bytes")),
      filesystem_free_(gauge(r, "lsr_spool_filesystem_free_bytes",
                             "Bytes free for the relay's user on the filesystem holding the spool")),
      sync_baselines_(
          gauge(r, "lsr_sync_baselines", "Cohort sync baselines (one per schedule and write key)")),
      sync_baseline_rows_(gauge(r, "lsr_sync_baseline_rows", "Rows of the cohort sync baselines, summed")),
      sync_baseline_bytes_(gauge(r, "lsr_sync_baseline_bytes",
                                 "Approximate bytes of the cohort sync baselines in the spool's database")),
      key_age_(prometheus::BuildGauge()
                   .Name("lsr_write_key_oldest_event_age_seconds")
                   .Help("Age of the oldest undelivered event of a write key (label: its first 4 characters)")
                   .Register(r)) {
    spool_limit_.Set(static_cast<double>(spool_limit_bytes));
}

void DeliveryMetrics::on_answer(int status, std::uint32_t events, double seconds, std::int64_t now_ms) {
    const prometheus::Labels labels{{"status", std::string(core::DeliveryOutcome::status_class(status))}};
    batches_.Add(labels).Increment();
    events_.Add(labels).Increment(static_cast<double>(events));
    duration_.Observe(seconds);
    if (status == 429) {
        rate_limited_.Increment();
    }
    if (status >= 200 && status <= 299) {
        last_success_.Set(static_cast<double>(now_ms) / 1000.0);
    }
}

void DeliveryMetrics::on_retry(double retry_after_seconds) {
    retries_.Increment();
    if (retry_after_seconds > 0) {
        retry_after_seconds_.Increment(retry_after_seconds);
    }
}

void DeliveryMetrics::on_split() {
    split_batches_.Increment();
}

void DeliveryMetrics::on_dead_letter(std::string_view reason, std::uint32_t events) {
    dead_lettered_.Add({{"reason", std::string(reason)}}).Increment(static_cast<double>(events));
}

void DeliveryMetrics::on_delivered(std::uint32_t events) {
    delivered_.Increment(static_cast<double>(events));
}

void DeliveryMetrics::on_spool_stats(const SpoolStats& stats, std::int64_t now_ms) {
    queue_events_.Set(static_cast<double>(stats.events));
    queue_batches_.Set(static_cast<double>(stats.batches));
    const double age =
        stats.oldest_created_ms > 0
            ? static_cast<double>(std::max<std::int64_t>(0, now_ms - stats.oldest_created_ms)) / 1000.0
            : 0.0;
    oldest_age_.Set(age);
    spool_queued_bytes_.Set(static_cast<double>(stats.bytes));
    spool_file_bytes_.Set(static_cast<double>(stats.file_bytes));
    dead_letters_.Set(static_cast<double>(stats.dead_letters));
    if (stats.filesystem_free_bytes) filesystem_free_.Set(static_cast<double>(*stats.filesystem_free_bytes));
}

void DeliveryMetrics::on_sync_totals(const SyncTotals& totals) {
    sync_baselines_.Set(static_cast<double>(totals.baselines));
    sync_baseline_rows_.Set(static_cast<double>(totals.rows));
    sync_baseline_bytes_.Set(static_cast<double>(totals.bytes));
}

void DeliveryMetrics::on_write_key_ages(const std::vector<std::pair<std::string, std::int64_t>>& oldest,
                                        std::int64_t now_ms) {
    std::map<std::string, double> ages;  // by label: the oldest of the keys that share it
    for (const auto& [key, created_ms] : oldest) {
        const double age = static_cast<double>(std::max<std::int64_t>(0, now_ms - created_ms)) / 1000.0;
        auto [it, added] = ages.emplace(core::valid_utf8_text(core::WriteKeyQueue::short_key(key)), age);
        if (!added) it->second = std::max(it->second, age);
    }
    std::lock_guard lock(key_age_mutex_);
    for (auto it = key_age_series_.begin(); it != key_age_series_.end();) {
        if (ages.contains(it->first)) {
            ++it;
        } else {
            key_age_.Remove(it->second);
            it = key_age_series_.erase(it);
        }
    }
    for (const auto& [label, age] : ages) {
        auto [it, added] = key_age_series_.emplace(label, nullptr);
        if (added) it->second = &key_age_.Add({{"write_key", label}});
        it->second->Set(age);
    }
}

}  // namespace lsr::server
