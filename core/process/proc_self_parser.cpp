#include "core/process/proc_self_parser.hpp"

#include <charconv>
#include <limits>
#include <vector>

namespace lsr::core {

namespace {

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}

// The whitespace-separated words of `s`.
std::vector<std::string_view> words(std::string_view s) {
    std::vector<std::string_view> out;
    std::size_t i = 0;
    while (i < s.size()) {
        while (i < s.size() && is_space(s[i])) ++i;
        const std::size_t start = i;
        while (i < s.size() && !is_space(s[i])) ++i;
        if (i > start) out.push_back(s.substr(start, i - start));
    }
    return out;
}

template <class Integer>
std::optional<Integer> whole_number(std::string_view s) {
    Integer v{};
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
    return v;
}

// Yields each line of `text` (without its newline) to `f` until `f` returns true.
template <class F>
bool each_line(std::string_view text, F&& f) {
    while (!text.empty()) {
        const auto nl = text.find('\n');
        const std::string_view line = text.substr(0, nl);
        if (f(line)) return true;
        if (nl == std::string_view::npos) break;
        text.remove_prefix(nl + 1);
    }
    return false;
}

}  // namespace

std::optional<ProcStat> ProcSelfParser::parse_stat(std::string_view text) {
    const auto open = text.find('(');
    const auto close = text.rfind(')');
    if (open == std::string_view::npos || close == std::string_view::npos || close < open)
        return std::nullopt;
    if (!whole_number<std::int64_t>(trim(text.substr(0, open)))) return std::nullopt;  // the pid
    const auto fields = words(text.substr(close + 1));
    // fields[0] is field 3 (state): field n is fields[n - 3].
    constexpr std::size_t kUtime = 14 - 3, kStime = 15 - 3, kStart = 22 - 3, kVsize = 23 - 3, kRss = 24 - 3;
    if (fields.size() <= kRss) return std::nullopt;
    const auto utime = whole_number<std::uint64_t>(fields[kUtime]);
    const auto stime = whole_number<std::uint64_t>(fields[kStime]);
    const auto start = whole_number<std::uint64_t>(fields[kStart]);
    const auto vsize = whole_number<std::uint64_t>(fields[kVsize]);
    const auto rss = whole_number<std::int64_t>(fields[kRss]);
    if (!utime || !stime || !start || !vsize || !rss) return std::nullopt;
    ProcStat st;
    st.utime_ticks = *utime;
    st.stime_ticks = *stime;
    st.starttime_ticks = *start;
    st.vsize_bytes = *vsize;
    st.rss_pages = *rss > 0 ? static_cast<std::uint64_t>(*rss) : 0;
    return st;
}

std::optional<std::int64_t> ProcSelfParser::parse_boot_time(std::string_view text) {
    std::optional<std::int64_t> out;
    each_line(text, [&](std::string_view line) {
        const auto w = words(line);
        if (w.size() != 2 || w[0] != "btime") return false;
        out = whole_number<std::int64_t>(w[1]);
        return true;
    });
    if (out && *out <= 0) return std::nullopt;
    return out;
}

std::optional<double> ProcSelfParser::parse_max_open_files(std::string_view text) {
    constexpr std::string_view kName = "Max open files";
    std::optional<double> out;
    each_line(text, [&](std::string_view line) {
        if (line.substr(0, kName.size()) != kName) return false;
        const auto w = words(line.substr(kName.size()));
        if (w.empty()) return true;  // malformed: nothing
        if (w[0] == "unlimited") {
            out = std::numeric_limits<double>::infinity();
        } else if (const auto v = whole_number<std::uint64_t>(w[0])) {
            out = static_cast<double>(*v);
        }
        return true;
    });
    return out;
}

}  // namespace lsr::core
