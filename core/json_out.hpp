// A small JSON writer appending to a caller's std::string, so one buffer serves every
// event of a run (no allocation per row). Numbers are written as JavaScript's
// JSON.stringify writes them (1.0 -> 1, 1e21 -> 1e+21): the hub's payloads came out of
// Node, and Segment is a JavaScript shop, so the same value always has the same text.
// Commas are the caller's business.
#pragma once

#include <rapidjson/document.h>

#include <initializer_list>
#include <string>
#include <string_view>

namespace lsr::core {

class JsonOut {
  public:
    explicit JsonOut(std::string& out) : out_(out) {}

    void raw(std::string_view text) { out_.append(text); }
    void raw(char c) { out_.push_back(c); }
    void string(std::string_view s);
    void key(std::string_view k) {
        string(k);
        out_.push_back(':');
    }
    void null() { out_.append("null"); }
    void boolean(bool b) { out_.append(b ? "true" : "false"); }
    // Strings as an array: ["a","b"].
    void string_array(std::initializer_list<std::string_view> values);
    // exact_integers: 64-bit integers keep every digit; otherwise they are rounded to a
    // double first, as JavaScript would (the hub's output).
    void number(const rapidjson::Value& v, bool exact_integers);
    // Any value. js_key_order: objects list integer-like keys first, ascending, as a
    // JavaScript object does.
    void value(const rapidjson::Value& v, bool exact_integers, bool js_key_order = false);

    static void append_double(std::string& out, double d);
    static bool is_array_index(std::string_view key);

  private:
    void object(const rapidjson::Value& v, bool exact_integers, bool js_key_order);

    std::string& out_;
};

}  // namespace lsr::core
