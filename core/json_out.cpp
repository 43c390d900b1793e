#include "core/json_out.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <vector>

#include "core/byte_scan.hpp"

namespace lsr::core {
namespace {

// Control characters, '"' and '\\' need escaping: as inclusive ranges.
const ByteScan kEscapes("\x00\x1f\"\"\\\\", 6, true);

std::uint64_t array_index_value(std::string_view key) {
    std::uint64_t v = 0;
    for (char c : key) v = v * 10 + static_cast<std::uint64_t>(c - '0');
    return v;
}

}  // namespace

void JsonOut::string(std::string_view s) {
    out_.push_back('"');
    std::size_t from = 0;
    for (std::size_t i = kEscapes.find(s.data(), 0, s.size()); i < s.size();
         i = kEscapes.find(s.data(), i + 1, s.size())) {
        const auto c = static_cast<unsigned char>(s[i]);
        out_.append(s.data() + from, i - from);
        from = i + 1;
        switch (c) {
            case '"':
                out_.append("\\\"");
                break;
            case '\\':
                out_.append("\\\\");
                break;
            case '\b':
                out_.append("\\b");
                break;
            case '\f':
                out_.append("\\f");
                break;
            case '\n':
                out_.append("\\n");
                break;
            case '\r':
                out_.append("\\r");
                break;
            case '\t':
                out_.append("\\t");
                break;
            default: {
                static const char* hex = "0123456789abcdef";
                const char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
                out_.append(esc, 6);
            }
        }
    }
    out_.append(s.data() + from, s.size() - from);
    out_.push_back('"');
}

void JsonOut::string_array(std::initializer_list<std::string_view> values) {
    out_.push_back('[');
    bool first = true;
    for (std::string_view v : values) {
        if (!first) out_.push_back(',');
        first = false;
        string(v);
    }
    out_.push_back(']');
}

// Number::toString of ECMAScript: the shortest digits that round-trip (std::to_chars picks
// the closest of them, as JavaScript does), then fixed notation for exponents -7 < e < 21,
// exponential with an explicit sign otherwise.
void JsonOut::append_double(std::string& out, double d) {
    if (!std::isfinite(d)) {  // JSON.stringify writes null; parsing never gives these
        out.append("null");
        return;
    }
    if (d == 0) {
        out.push_back('0');  // -0 too, as JavaScript
        return;
    }
    char buf[64];
    const auto r = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
    const std::string_view sci(buf, static_cast<std::size_t>(r.ptr - buf));  // -d.ddde+XX
    const std::size_t e = sci.find('e');
    std::string_view mantissa = sci.substr(0, e);
    if (!mantissa.empty() && mantissa[0] == '-') {
        out.push_back('-');
        mantissa.remove_prefix(1);
    }
    char digit_buf[64];  // the mantissa's digits without the point: no allocation for long ones
    std::size_t digit_count = 0;
    for (char c : mantissa)
        if (c != '.') digit_buf[digit_count++] = c;
    const std::string_view digits(digit_buf, digit_count);
    int exponent = 0;
    std::from_chars(sci.data() + e + (sci[e + 1] == '+' ? 2 : 1), sci.data() + sci.size(), exponent);
    const int k = static_cast<int>(digits.size());
    const int n = exponent + 1;  // position of the decimal point
    if (k <= n && n <= 21) {
        out.append(digits);
        out.append(static_cast<std::size_t>(n - k), '0');
    } else if (0 < n && n <= 21) {
        out.append(digits.substr(0, static_cast<std::size_t>(n)));
        out.push_back('.');
        out.append(digits.substr(static_cast<std::size_t>(n)));
    } else if (-6 < n && n <= 0) {
        out.append("0.");
        out.append(static_cast<std::size_t>(-n), '0');
        out.append(digits);
    } else {
        out.push_back(digits[0]);
        if (k > 1) {
            out.push_back('.');
            out.append(digits.substr(1));
        }
        out.push_back('e');
        out.push_back(n - 1 < 0 ? '-' : '+');
        out.append(std::to_string(n - 1 < 0 ? 1 - n : n - 1));
    }
}

void JsonOut::number(const rapidjson::Value& v, bool exact_integers) {
    char buf[32];
    constexpr std::int64_t kSafe = 9007199254740991;  // 2^53 - 1
    if (v.IsInt64() && (exact_integers || (v.GetInt64() <= kSafe && v.GetInt64() >= -kSafe))) {
        auto r = std::to_chars(buf, buf + sizeof buf, v.GetInt64());
        out_.append(buf, static_cast<std::size_t>(r.ptr - buf));
    } else if (v.IsUint64() && exact_integers) {
        auto r = std::to_chars(buf, buf + sizeof buf, v.GetUint64());
        out_.append(buf, static_cast<std::size_t>(r.ptr - buf));
    } else {
        append_double(out_, v.GetDouble());
    }
}

bool JsonOut::is_array_index(std::string_view key) {
    if (key.empty() || key.size() > 10) return false;
    if (key.size() > 1 && key[0] == '0') return false;
    if (!std::all_of(key.begin(), key.end(), [](char c) { return c >= '0' && c <= '9'; })) return false;
    return array_index_value(key) < 4294967295ull;
}

void JsonOut::value(const rapidjson::Value& v, bool exact_integers, bool js_key_order) {
    switch (v.GetType()) {
        case rapidjson::kNullType:
            out_.append("null");
            return;
        case rapidjson::kFalseType:
            out_.append("false");
            return;
        case rapidjson::kTrueType:
            out_.append("true");
            return;
        case rapidjson::kStringType:
            string({v.GetString(), v.GetStringLength()});
            return;
        case rapidjson::kNumberType:
            number(v, exact_integers);
            return;
        case rapidjson::kArrayType: {
            out_.push_back('[');
            bool first = true;
            for (const auto& e : v.GetArray()) {
                if (!first) out_.push_back(',');
                first = false;
                value(e, exact_integers, js_key_order);
            }
            out_.push_back(']');
            return;
        }
        case rapidjson::kObjectType:
            object(v, exact_integers, js_key_order);
            return;
    }
}

void JsonOut::object(const rapidjson::Value& v, bool exact_integers, bool js_key_order) {
    bool reorder = false;
    if (js_key_order) {
        for (const auto& m : v.GetObject()) {
            if (is_array_index({m.name.GetString(), m.name.GetStringLength()})) {
                reorder = true;
                break;
            }
        }
    }
    if (!reorder) {  // the members' own order: no list to build
        out_.push_back('{');
        bool first = true;
        for (const auto& m : v.GetObject()) {
            if (!first) out_.push_back(',');
            first = false;
            key({m.name.GetString(), m.name.GetStringLength()});
            value(m.value, exact_integers, js_key_order);
        }
        out_.push_back('}');
        return;
    }
    std::vector<const rapidjson::Value::Member*> members;
    members.reserve(v.MemberCount());
    for (const auto& m : v.GetObject()) members.push_back(&m);
    if (js_key_order) {
        auto name = [](const rapidjson::Value::Member* m) {
            return std::string_view(m->name.GetString(), m->name.GetStringLength());
        };
        std::stable_sort(members.begin(), members.end(), [&](auto* a, auto* b) {
            const bool ia = is_array_index(name(a)), ib = is_array_index(name(b));
            if (ia != ib) return ia;
            return ia && array_index_value(name(a)) < array_index_value(name(b));
        });
    }
    out_.push_back('{');
    bool first = true;
    for (const auto* m : members) {
        if (!first) out_.push_back(',');
        first = false;
        key({m->name.GetString(), m->name.GetStringLength()});
        value(m->value, exact_integers, js_key_order);
    }
    out_.push_back('}');
}

}  // namespace lsr::core
