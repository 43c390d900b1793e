#include "app/cli_text.hpp"

#include <cstdio>
#include <ctime>
#include <sstream>

namespace lsr::app {

std::string CliText::key_prefix(std::string_view key) {
    return std::string(key.substr(0, 4)) + "\u2026";
}

std::string CliText::human_bytes(std::uint64_t n) {
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = static_cast<double>(n);
    int u = 0;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        ++u;
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
    return buf;
}

std::string CliText::human_age(std::int64_t ms) {
    if (ms < 0) ms = 0;
    std::int64_t s = ms / 1000;
    const std::int64_t d = s / 86400;
    const std::int64_t h = (s % 86400) / 3600;
    const std::int64_t m = (s % 3600) / 60;
    s %= 60;
    std::ostringstream out;
    if (d > 0) {
        out << d << "d " << h << "h";
    } else if (h > 0) {
        out << h << "h " << m << "m";
    } else if (m > 0) {
        out << m << "m " << s << "s";
    } else {
        out << s << "s";
    }
    return out.str();
}

std::string CliText::iso_utc(std::int64_t ms) {
    const auto t = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

std::string CliText::one_line(std::string_view s, std::size_t max) {
    std::string out;
    for (const char ch : s) out += static_cast<unsigned char>(ch) < 0x20 ? ' ' : ch;
    if (out.size() > max) {
        std::size_t cut = max;
        while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;  // UTF-8 boundary
        out = out.substr(0, cut) + "\u2026";
    }
    return out;
}

std::string CliText::pad(std::string_view s, std::size_t width) {
    std::size_t columns = 0;
    for (const char ch : s)
        if ((static_cast<unsigned char>(ch) & 0xC0) != 0x80) ++columns;
    std::string out(s);
    if (columns < width) out.append(width - columns, ' ');
    return out;
}

}  // namespace lsr::app
