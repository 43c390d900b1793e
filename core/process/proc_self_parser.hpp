// Pure parsers of the Linux /proc texts the process metrics come from (proc(5)). Handed the
// text of a file, they hand back the figures, or nothing when the text is not what the kernel
// writes; the files themselves are read by server/service's ProcessCollector.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace lsr::core {

// The fields of /proc/self/stat the metrics use, in the kernel's units.
struct ProcStat {
    std::uint64_t utime_ticks = 0;      // field 14: user CPU, clock ticks
    std::uint64_t stime_ticks = 0;      // field 15: system CPU, clock ticks
    std::uint64_t starttime_ticks = 0;  // field 22: start, clock ticks after boot
    std::uint64_t vsize_bytes = 0;      // field 23: virtual memory, bytes
    std::uint64_t rss_pages = 0;        // field 24: resident set, pages (negative is read as 0)
};

class ProcSelfParser {
  public:
    // /proc/<pid>/stat: "pid (comm) state ppid ...". comm may hold spaces and parentheses;
    // the fields are counted from the last ')'.
    static std::optional<ProcStat> parse_stat(std::string_view text);

    // /proc/stat: the "btime <seconds since the epoch>" line.
    static std::optional<std::int64_t> parse_boot_time(std::string_view text);

    // /proc/<pid>/limits: the soft limit of "Max open files" ("unlimited": +infinity).
    static std::optional<double> parse_max_open_files(std::string_view text);
};

}  // namespace lsr::core
