// The process metrics, named as Prometheus' own process collector names them, read from
// /proc at each scrape (prometheus-cpp 1.0 has no process collector):
//   process_cpu_seconds_total          user + system CPU time, seconds (counter)
//   process_resident_memory_bytes      resident set size
//   process_virtual_memory_bytes       virtual memory size
//   process_start_time_seconds         start time, seconds since the epoch
//   process_open_fds                   open file descriptors
//   process_max_fds                    the soft limit on open file descriptors
// A figure that cannot be read is left out of that scrape. The texts are parsed by
// core::ProcSelfParser; this class only reads the files. Thread-safe (no state).
#pragma once

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <string>
#include <vector>

namespace lsr::server {

class ProcessCollector : public prometheus::Collectable {
  public:
    // `proc_root`: "/proc" in production; tests point it to a directory laid out like it
    // (stat, self/stat, self/limits, self/fd/).
    explicit ProcessCollector(std::string proc_root);

    std::vector<prometheus::MetricFamily> Collect() const override;

  private:
    std::string root_;
    double ticks_per_second_;
    double page_size_;
};

}  // namespace lsr::server
