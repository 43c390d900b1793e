#include "core/iso_time.hpp"

#include <cstdio>

namespace lsr::core {
namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const auto yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

void civil_from_days(std::int64_t z, std::int64_t& y, unsigned& m, unsigned& d) {
    z += 719468;
    const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const auto doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    y = static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2);
}

class Cursor {
  public:
    explicit Cursor(std::string_view s) : s_(s) {}
    bool digits(int count, int& out) {
        out = 0;
        for (int k = 0; k < count; ++k) {
            if (i_ >= s_.size() || s_[i_] < '0' || s_[i_] > '9') return false;
            out = out * 10 + (s_[i_++] - '0');
        }
        return true;
    }
    bool eat(char c) {
        if (i_ < s_.size() && s_[i_] == c) {
            ++i_;
            return true;
        }
        return false;
    }
    bool at_end() const { return i_ == s_.size(); }
    char peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }
    void skip() { ++i_; }

  private:
    std::string_view s_;
    std::size_t i_ = 0;
};

bool parse_zone(Cursor& c, int& offset_minutes) {
    offset_minutes = 0;
    if (c.at_end() || c.eat('Z') || c.eat('z')) return c.at_end();
    const char sign = c.peek();
    if (sign != '+' && sign != '-') return false;
    c.skip();
    int hh = 0, mm = 0;
    if (!c.digits(2, hh)) return false;
    c.eat(':');
    if (!c.at_end() && !c.digits(2, mm)) return false;
    if (hh > 23 || mm > 59) return false;
    offset_minutes = (sign == '-' ? -1 : 1) * (hh * 60 + mm);
    return c.at_end();
}

}  // namespace

std::string format_iso8601_ms(std::int64_t epoch_ms) {
    std::int64_t days = epoch_ms / 86'400'000;
    std::int64_t rem = epoch_ms % 86'400'000;
    if (rem < 0) {
        rem += 86'400'000;
        --days;
    }
    std::int64_t y = 0;
    unsigned m = 0, d = 0;
    civil_from_days(days, y, m, d);
    const auto ms = static_cast<int>(rem % 1000);
    const auto secs = static_cast<int>(rem / 1000);
    char buf[40];
    std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02d:%02d:%02d.%03dZ", static_cast<long long>(y), m, d,
                  secs / 3600, (secs / 60) % 60, secs % 60, ms);
    return buf;
}

std::optional<std::int64_t> parse_iso8601_ms(std::string_view text) {
    Cursor c(text);
    int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0, ms = 0;
    if (!c.digits(4, y) || !c.eat('-') || !c.digits(2, mo) || !c.eat('-') || !c.digits(2, d))
        return std::nullopt;
    if (mo < 1 || mo > 12 || d < 1 || d > 31) return std::nullopt;
    if (!c.at_end()) {
        if (!c.eat('T') && !c.eat('t') && !c.eat(' ')) return std::nullopt;
        if (!c.digits(2, h) || !c.eat(':') || !c.digits(2, mi)) return std::nullopt;
        if (c.eat(':') && !c.digits(2, s)) return std::nullopt;
        if (c.eat('.') || c.eat(',')) {
            int scale = 100, digit = 0, seen = 0;
            while (c.digits(1, digit)) {
                ms += digit * scale;
                scale /= 10;
                ++seen;
            }
            if (seen == 0) return std::nullopt;
        }
        if (h > 23 || mi > 59 || s > 60) return std::nullopt;
    }
    int offset = 0;
    if (!parse_zone(c, offset)) return std::nullopt;
    const std::int64_t days = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
    const std::int64_t secs = days * 86400 + h * 3600 + mi * 60 + s - offset * 60;
    return secs * 1000 + ms;
}

}  // namespace lsr::core
