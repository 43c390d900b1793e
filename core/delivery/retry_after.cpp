#include "core/delivery/retry_after.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <string>
#include <vector>

namespace lsr::core {
namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
        s.remove_prefix(1);
    }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
        s.remove_suffix(1);
    }
    return s;
}

bool all_digits(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// A non-negative decimal number ("12", "1.5"); nullopt for anything else.
std::optional<double> parse_number(std::string_view s) {
    if (s.empty() || s.size() > 24) {
        return std::nullopt;
    }
    const auto dot = s.find('.');
    const std::string_view whole = s.substr(0, dot);
    if (!all_digits(whole)) {
        return std::nullopt;
    }
    if (dot != std::string_view::npos && !all_digits(s.substr(dot + 1))) {
        return std::nullopt;
    }
    return std::stod(std::string(s));
}

std::optional<int> parse_int(std::string_view s) {
    if (!all_digits(s) || s.size() > 4) {
        return std::nullopt;
    }
    int v = 0;
    for (char c : s) {
        v = v * 10 + (c - '0');
    }
    return v;
}

std::optional<int> month_index(std::string_view s) {
    static constexpr std::array<std::string_view, 12> kMonths = {"jan", "feb", "mar", "apr", "may", "jun",
                                                                 "jul", "aug", "sep", "oct", "nov", "dec"};
    if (s.size() != 3) {
        return std::nullopt;
    }
    std::string lower(s);
    for (char& c : lower) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    for (std::size_t i = 0; i < kMonths.size(); ++i) {
        if (lower == kMonths[i]) {
            return static_cast<int>(i) + 1;
        }
    }
    return std::nullopt;
}

bool is_alpha_token(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(),
                                     [](char c) { return std::isalpha(static_cast<unsigned char>(c)); });
}

// Days since 1970-01-01 of a proleptic Gregorian date (years shifted so March starts the year).
std::int64_t days_from_civil(int y, int m, int d) {
    const int shifted_year = m <= 2 ? y - 1 : y;
    const int era = (shifted_year >= 0 ? shifted_year : shifted_year - 399) / 400;
    const int year_of_era = shifted_year - era * 400;
    const int month_from_march = (m + 9) % 12;
    const int day_of_year = (153 * month_from_march + 2) / 5 + d - 1;
    const int day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    return static_cast<std::int64_t>(era) * 146097 + day_of_era - 719468;
}

int days_in_month(int y, int m) {
    static constexpr std::array<int, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : kDays[static_cast<std::size_t>(m - 1)];
}

bool parse_clock(std::string_view s, int& h, int& mi, int& sec) {
    if (s.size() != 8 || s[2] != ':' || s[5] != ':') {
        return false;
    }
    const auto hh = parse_int(s.substr(0, 2));
    const auto mm = parse_int(s.substr(3, 2));
    const auto ss = parse_int(s.substr(6, 2));
    if (!hh || !mm || !ss || *hh > 23 || *mm > 59 || *ss > 60) {
        return false;
    }
    h = *hh;
    mi = *mm;
    sec = std::min(*ss, 59);  // a leap second is read as :59
    return true;
}

}  // namespace

std::optional<std::int64_t> RetryAfter::parse_http_date(std::string_view value) {
    value = trim(value);
    if (value.empty() || value.size() > 64) {
        return std::nullopt;
    }
    // Tokens split on spaces, commas and dashes (RFC 850 writes 06-Nov-94).
    std::vector<std::string_view> tokens;
    std::size_t i = 0;
    while (i < value.size()) {
        while (i < value.size() && (value[i] == ' ' || value[i] == ',' || value[i] == '-')) {
            ++i;
        }
        const std::size_t start = i;
        while (i < value.size() && value[i] != ' ' && value[i] != ',' && value[i] != '-') {
            ++i;
        }
        if (i > start) {
            tokens.push_back(value.substr(start, i - start));
        }
    }
    std::size_t t = 0;
    if (t < tokens.size() && is_alpha_token(tokens[t]) && !month_index(tokens[t])) {
        ++t;  // weekday; not checked against the date
    }
    int day = 0;
    int month = 0;
    int year = 0;
    int h = 0;
    int mi = 0;
    int sec = 0;
    bool two_digit_year = false;
    if (tokens.size() - t >= 4 && all_digits(tokens[t])) {
        // IMF-fixdate / RFC 850: day month year time [zone]
        const auto d = parse_int(tokens[t]);
        const auto m = month_index(tokens[t + 1]);
        const auto y = parse_int(tokens[t + 2]);
        if (!d || !m || !y || !parse_clock(tokens[t + 3], h, mi, sec)) {
            return std::nullopt;
        }
        two_digit_year = tokens[t + 2].size() == 2;
        if (tokens[t + 2].size() != 2 && tokens[t + 2].size() != 4) {
            return std::nullopt;
        }
        day = *d;
        month = *m;
        year = *y;
        t += 4;
    } else if (tokens.size() - t >= 4) {
        // asctime: month day time year
        const auto m = month_index(tokens[t]);
        const auto d = parse_int(tokens[t + 1]);
        const auto y = parse_int(tokens[t + 3]);
        if (!m || !d || !y || tokens[t + 3].size() != 4 || !parse_clock(tokens[t + 2], h, mi, sec)) {
            return std::nullopt;
        }
        day = *d;
        month = *m;
        year = *y;
        t += 4;
    } else {
        return std::nullopt;
    }
    if (t < tokens.size()) {
        const std::string_view zone = tokens[t];
        if (zone != "GMT" && zone != "UTC" && zone != "UT" && zone != "Z" && zone != "+0000" &&
            zone != "0000") {
            return std::nullopt;
        }
        ++t;
    }
    if (t != tokens.size()) {
        return std::nullopt;
    }
    if (two_digit_year) {
        year += year < 70 ? 2000 : 1900;
    }
    if (year < 1970 || month < 1 || month > 12 || day < 1 || day > days_in_month(year, month)) {
        return std::nullopt;
    }
    const std::int64_t days = days_from_civil(year, month, day);
    return ((days * 24 + h) * 60 + mi) * 60'000 + static_cast<std::int64_t>(sec) * 1000;
}

std::optional<std::int64_t> RetryAfter::parse_retry_after(std::string_view value, std::int64_t now_ms) {
    value = trim(value);
    if (value.empty()) {
        return std::nullopt;
    }
    if (const auto seconds = parse_number(value)) {
        return static_cast<std::int64_t>(std::min(*seconds, 1e12) * 1000.0);
    }
    if (const auto at = parse_http_date(value)) {
        return *at - now_ms;
    }
    return std::nullopt;
}

std::optional<std::int64_t> RetryAfter::parse_rate_limit_reset(std::string_view value, std::int64_t now_ms) {
    value = trim(value);
    if (value.empty()) {
        return std::nullopt;
    }
    if (const auto n = parse_number(value)) {
        if (*n < 1e9) {
            return static_cast<std::int64_t>(*n * 1000.0);
        }
        if (*n < 1e11) {
            return static_cast<std::int64_t>(*n * 1000.0) - now_ms;
        }
        if (*n < 1e15) {
            return static_cast<std::int64_t>(*n) - now_ms;
        }
        return std::nullopt;
    }
    if (const auto at = parse_http_date(value)) {
        return *at - now_ms;
    }
    return std::nullopt;
}

std::optional<std::int64_t> RetryAfter::delay_ms(std::string_view retry_after,
                                                 std::string_view x_ratelimit_reset, std::int64_t now_ms,
                                                 std::uint32_t cap_ms) {
    auto raw = parse_retry_after(retry_after, now_ms);
    if (!raw) {
        raw = parse_rate_limit_reset(x_ratelimit_reset, now_ms);
    }
    if (!raw) {
        return std::nullopt;
    }
    const std::int64_t cap = std::max<std::int64_t>(cap_ms, kFloorMs);
    return std::clamp<std::int64_t>(*raw, kFloorMs, cap);
}

}  // namespace lsr::core
