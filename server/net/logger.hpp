// One JSON object per line on stdout. Never pass a write key, token or row data beyond ids.
#pragma once

#include <initializer_list>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "core/clock.hpp"

namespace lsr::server {

enum class LogLevel { debug = 0, info = 1, warn = 2, error = 3 };

class Logger {
  public:
    using Value = std::variant<std::string_view, std::int64_t, double, bool>;
    using Field = std::pair<std::string_view, Value>;

    // Lines are stamped with `clock`'s wall time.
    explicit Logger(LogLevel level = LogLevel::info, const core::Clock& clock = core::Clock::system())
        : level_(level), clock_(clock) {}
    static LogLevel parse_level(std::string_view s);

    void log(LogLevel level, std::string_view msg, std::initializer_list<Field> fields = {});
    void debug(std::string_view m, std::initializer_list<Field> f = {}) { log(LogLevel::debug, m, f); }
    void info(std::string_view m, std::initializer_list<Field> f = {}) { log(LogLevel::info, m, f); }
    void warn(std::string_view m, std::initializer_list<Field> f = {}) { log(LogLevel::warn, m, f); }
    void error(std::string_view m, std::initializer_list<Field> f = {}) { log(LogLevel::error, m, f); }
    bool enabled(LogLevel level) const { return level >= level_; }

  private:
    LogLevel level_;
    const core::Clock& clock_;
    std::mutex mutex_;
};

}  // namespace lsr::server
