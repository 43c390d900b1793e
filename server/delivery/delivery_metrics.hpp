// The delivery families on the shared Prometheus registry:
//   lsr_segment_events_total{status}         events in answered (or failed) requests, by status class
//   lsr_segment_batches_total{status}        requests, by status class ("2xx", "4xx", "network", ...)
//   lsr_segment_retries_total                batches rescheduled for another attempt
//   lsr_segment_split_batches_total          batches split in halves after a 400/413
//   lsr_dead_lettered_events_total{reason}   events moved to the dead letters
//   lsr_delivered_events_total               events Segment took (2xx)
//   lsr_segment_request_duration_seconds     request latency histogram
//   lsr_segment_retry_after_seconds_total    time the write keys were paused by Retry-After
//   lsr_segment_rate_limited_total           429 answers
//   lsr_segment_last_success_timestamp_seconds  wall time of the last 2xx (0: none yet)
//   gauges from Spool::stats() on each poll: lsr_queue_events, lsr_queue_batches,
//   lsr_oldest_queued_event_age_seconds, lsr_spool_queued_bytes (batch bodies),
//   lsr_spool_file_bytes (the spool's files on disk), lsr_dead_letters,
//   lsr_spool_filesystem_free_bytes (free for the relay's user on the spool's filesystem)
//   lsr_spool_limit_bytes                    spool.max_bytes, the bound of lsr_spool_file_bytes
//   gauges from SyncStore::totals() on each poll (cohort sync's baselines, in the spool's
//   database): lsr_sync_baselines, lsr_sync_baseline_rows, lsr_sync_baseline_bytes
//   lsr_write_key_oldest_event_age_seconds{write_key}  age of the oldest undelivered event of
//       each write key with batches in the spool (Spool::oldest_by_write_key on each poll);
//       the label is the key's short form (WriteKeyQueue::short_key: 4 characters and "…",
//       as in /status and the logs), never the key. Keys sharing a short form share a series
//       (the oldest of them); a key with nothing queued has no series.
// Thread-safe (prometheus-cpp metrics are atomic; the per-key series under a mutex).
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lsr::server {

struct SpoolStats;
struct SyncTotals;

class DeliveryMetrics {
  public:
    DeliveryMetrics(prometheus::Registry& registry, std::uint64_t spool_limit_bytes);

    // status 0: no answer. `now_ms` (wall) stamps the last success.
    void on_answer(int status, std::uint32_t events, double seconds, std::int64_t now_ms);
    void on_retry(double retry_after_seconds);  // 0 when no Retry-After
    void on_split();
    void on_dead_letter(std::string_view reason, std::uint32_t events);
    void on_delivered(std::uint32_t events);
    void on_spool_stats(const SpoolStats& stats, std::int64_t now_ms);
    void on_sync_totals(const SyncTotals& totals);
    // Every write key with batches and the created_ms of its oldest one: the series of the
    // keys not listed are removed.
    void on_write_key_ages(const std::vector<std::pair<std::string, std::int64_t>>& oldest,
                           std::int64_t now_ms);

  private:
    prometheus::Family<prometheus::Counter>& events_;
    prometheus::Family<prometheus::Counter>& batches_;
    prometheus::Counter& retries_;
    prometheus::Counter& split_batches_;
    prometheus::Family<prometheus::Counter>& dead_lettered_;
    prometheus::Counter& delivered_;
    prometheus::Histogram& duration_;
    prometheus::Counter& retry_after_seconds_;
    prometheus::Counter& rate_limited_;
    prometheus::Gauge& last_success_;
    prometheus::Gauge& queue_events_;
    prometheus::Gauge& queue_batches_;
    prometheus::Gauge& oldest_age_;
    prometheus::Gauge& spool_queued_bytes_;
    prometheus::Gauge& spool_file_bytes_;
    prometheus::Gauge& dead_letters_;
    prometheus::Gauge& spool_limit_;
    prometheus::Gauge& filesystem_free_;
    prometheus::Gauge& sync_baselines_;
    prometheus::Gauge& sync_baseline_rows_;
    prometheus::Gauge& sync_baseline_bytes_;
    prometheus::Family<prometheus::Gauge>& key_age_;
    std::mutex key_age_mutex_;
    std::map<std::string, prometheus::Gauge*> key_age_series_;  // by label value
};

}  // namespace lsr::server
