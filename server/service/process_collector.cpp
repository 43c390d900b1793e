#include "server/service/process_collector.hpp"

#include <dirent.h>
#include <unistd.h>

#include <fstream>
#include <optional>
#include <sstream>

#include "core/process/proc_self_parser.hpp"

namespace lsr::server {

namespace {

std::optional<std::string> read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::nullopt;
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) return std::nullopt;
    return text.str();
}

// Entries of the fd directory, "." and ".." left out (the directory's own descriptor, open
// while it is read, is counted, as Prometheus' collector counts it).
std::optional<double> count_fds(const std::string& dir) {
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) return std::nullopt;
    double n = 0;
    while (const dirent* e = ::readdir(d)) {
        const std::string_view name = e->d_name;
        if (name != "." && name != "..") ++n;
    }
    ::closedir(d);
    return n;
}

prometheus::MetricFamily family(const char* name, const char* help, prometheus::MetricType type,
                                double value) {
    prometheus::MetricFamily f;
    f.name = name;
    f.help = help;
    f.type = type;
    prometheus::ClientMetric m;
    if (type == prometheus::MetricType::Counter) {
        m.counter.value = value;
    } else {
        m.gauge.value = value;
    }
    f.metric.push_back(std::move(m));
    return f;
}

double positive_or(long value, double fallback) {
    return value > 0 ? static_cast<double>(value) : fallback;
}

}  // namespace

ProcessCollector::ProcessCollector(std::string proc_root)
    : root_(std::move(proc_root)),
      ticks_per_second_(positive_or(::sysconf(_SC_CLK_TCK), 100)),
      page_size_(positive_or(::sysconf(_SC_PAGESIZE), 4096)) {}

std::vector<prometheus::MetricFamily> ProcessCollector::Collect() const {
    using prometheus::MetricType;
    std::vector<prometheus::MetricFamily> out;
    const auto stat_text = read_file(root_ + "/self/stat");
    const auto stat = stat_text ? core::ProcSelfParser::parse_stat(*stat_text) : std::nullopt;
    if (stat) {
        out.push_back(family("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
                             MetricType::Counter,
                             static_cast<double>(stat->utime_ticks + stat->stime_ticks) / ticks_per_second_));
        out.push_back(family("process_resident_memory_bytes", "Resident memory size in bytes.",
                             MetricType::Gauge, static_cast<double>(stat->rss_pages) * page_size_));
        out.push_back(family("process_virtual_memory_bytes", "Virtual memory size in bytes.",
                             MetricType::Gauge, static_cast<double>(stat->vsize_bytes)));
        const auto boot_text = read_file(root_ + "/stat");
        if (const auto boot = boot_text ? core::ProcSelfParser::parse_boot_time(*boot_text) : std::nullopt) {
            out.push_back(family(
                "process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
                MetricType::Gauge,
                static_cast<double>(*boot) + static_cast<double>(stat->starttime_ticks) / ticks_per_second_));
        }
    }
    if (const auto fds = count_fds(root_ + "/self/fd")) {
        out.push_back(
            family("process_open_fds", "Number of open file descriptors.", MetricType::Gauge, *fds));
    }
    const auto limits_text = read_file(root_ + "/self/limits");
    if (const auto max =
            limits_text ? core::ProcSelfParser::parse_max_open_files(*limits_text) : std::nullopt) {
        out.push_back(
            family("process_max_fds", "Maximum number of open file descriptors.", MetricType::Gauge, *max));
    }
    return out;
}

}  // namespace lsr::server
