#include "server/net/logger.hpp"

#include <cmath>
#include <cstdio>

#include "core/iso_time.hpp"
#include "core/json_out.hpp"
#include "core/text.hpp"

namespace lsr::server {

namespace {

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
    core::JsonOut json(line);
    json.raw('{');
    json.key("ts");
    json.string(core::format_iso8601_ms(clock_.unix_ms()));
    json.raw(',');
    json.key("level");
    json.string(level_name(level));
    json.raw(',');
    json.key("msg");
    json.string(core::valid_utf8_text(msg));  // a log line is valid UTF-8 whatever it quotes
    for (const auto& [key, value] : fields) {
        json.raw(',');
        json.key(core::valid_utf8_text(key));
        if (const auto* s = std::get_if<std::string_view>(&value)) {
            json.string(core::valid_utf8_text(*s));
        } else if (const auto* i = std::get_if<std::int64_t>(&value)) {
            json.raw(std::to_string(*i));
        } else if (const auto* d = std::get_if<double>(&value)) {
            if (std::isfinite(*d)) {
                char buf[32];
                std::snprintf(buf, sizeof buf, "%.6g", *d);
                json.raw(buf);
            } else {
                json.raw("null");
            }
        } else {
            json.raw(std::get<bool>(value) ? "true" : "false");
        }
    }
    json.raw("}\n");
    std::lock_guard lock(mutex_);
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fflush(stdout);
}

}  // namespace lsr::server
