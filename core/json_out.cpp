#include "core/json_out.hpp"

#include <rapidjson/internal/dtoa.h>

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
    char* end = rapidjson::internal::dtoa(d, buf);
    std::string_view text(buf, static_cast<std::size_t>(end - buf));
    // RapidJSON follows ECMAScript's thresholds but writes 1.0 and 1e21; JavaScript
    // writes 1 and 1e+21.
    if (text.size() > 2 && text.substr(text.size() - 2) == ".0") text.remove_suffix(2);
    const auto e = text.find('e');
    if (e == std::string_view::npos || text[e + 1] == '-') {
        out.append(text);
        return;
    }
    out.append(text.substr(0, e + 1));
    out.push_back('+');
    out.append(text.substr(e + 1));
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
