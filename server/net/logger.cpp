#include "server/net/logger.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>

#include "core/text.hpp"

namespace lsr::server {

namespace {

std::string now_iso() {
    using namespace std::chrono;
    const auto now = system_clock::now();
    const auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count();
    const std::time_t secs = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
    return buf;
}

const char* level_name(LogLevel l) {
    switch (l) {
        case LogLevel::debug:
            return "debug";
        case LogLevel::info:
            return "info";
        case LogLevel::warn:
            return "warn";
        case LogLevel::error:
            return "error";
    }
    return "info";
}

}  // namespace

LogLevel Logger::parse_level(std::string_view s) {
    if (s == "debug") return LogLevel::debug;
    if (s == "warn") return LogLevel::warn;
    if (s == "error") return LogLevel::error;
    return LogLevel::info;
}

void Logger::log(LogLevel level, std::string_view msg, std::initializer_list<Field> fields) {
    if (!enabled(level)) return;
    std::string line;
    line.reserve(128);
    line += "{\"ts\":\"";
    line += now_iso();
    line += "\",\"level\":\"";
    line += level_name(level);
    line += "\",\"msg\":";
    core::append_json_string(line, msg);
    for (const auto& [key, value] : fields) {
        line += ',';
        core::append_json_string(line, key);
        line += ':';
        if (const auto* s = std::get_if<std::string_view>(&value)) {
            core::append_json_string(line, *s);
        } else if (const auto* i = std::get_if<std::int64_t>(&value)) {
            line += std::to_string(*i);
        } else if (const auto* d = std::get_if<double>(&value)) {
            if (std::isfinite(*d)) {
                char buf[32];
                std::snprintf(buf, sizeof buf, "%.6g", *d);
                line += buf;
            } else {
                line += "null";
            }
        } else {
            line += std::get<bool>(value) ? "true" : "false";
        }
    }
    line += "}\n";
    std::lock_guard lock(mutex_);
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fflush(stdout);
}

}  // namespace lsr::server
