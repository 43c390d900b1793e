#include "core/json_span_scanner.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

using lsr::core::JsonSpanScanner;

namespace {

// Captures every element of the root array "rows", streams "blob", skips the rest.
struct Recorder final : JsonSpanScanner::Handler {
    std::vector<std::string> rows;
    std::string blob;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> spans;
    JsonSpanScanner::Decision on_value_start(const JsonSpanScanner::ValueStart& s) override {
        using A = JsonSpanScanner::Action;
        if (s.depth == 0) return {A::descend, 1};
        if (s.depth == 1 && s.key == "rows") return {A::descend, 2};
        if (s.depth == 1 && s.key == "blob") return {A::stream, 3};
        if (s.parent_tag == 2) return {A::capture, 4};
        return {};
    }
    std::error_code on_value_bytes(std::string_view bytes) override {
        blob.append(bytes);
        return {};
    }
    std::error_code on_value_end(std::string_view captured, std::uint64_t begin, std::uint64_t end,
                                 int tag) override {
        if (tag == 4) rows.emplace_back(captured);
        if (tag == 3 || tag == 4) spans.emplace_back(begin, end);
        return {};
    }
};

Recorder scan(const std::string& doc, std::size_t chunk, std::error_code& ec) {
    Recorder r;
    JsonSpanScanner scanner(r);
    ec = {};
    for (std::size_t i = 0; i < doc.size() && !ec; i += chunk)
        ec = scanner.feed(std::string_view(doc).substr(i, chunk));
    if (!ec) ec = scanner.finish();
    return r;
}

}  // namespace

TEST_CASE("span scanner: captures, streams and skips with exact offsets at every split", "[scanner]") {
    const std::string doc =
        R"( {"skip":{"rows":[1,{"x":"]"}]},"rows":[ 1 , "s\"]" ,{"a":[1,{"b":null}]},true,-2.5e3],)"
        R"("blob":"x\\\"y","tail":[]} )";
    for (std::size_t chunk = 1; chunk <= doc.size(); ++chunk) {
        std::error_code ec;
        const Recorder r = scan(doc, chunk, ec);
        INFO("chunk " << chunk);
        REQUIRE_FALSE(ec);
        CHECK(r.rows ==
              std::vector<std::string>{"1", R"("s\"]")", R"({"a":[1,{"b":null}]})", "true", "-2.5e3"});
        CHECK(r.blob == R"("x\\\"y")");
        REQUIRE(r.spans.size() == 6);
        for (std::size_t k = 0; k < 5; ++k)
            CHECK(doc.substr(r.spans[k].first, r.spans[k].second - r.spans[k].first) == r.rows[k]);
    }
}

TEST_CASE("span scanner: structural errors", "[scanner]") {
    for (const char* doc :
         {"{\"rows\":[1 2]}", "{\"rows\":[1,]}", "{\"a\" 1}", "{\"rows\":[{]}]}", "{\"a\":1,}",
          "{\"rows\":[01]}", "{\"rows\":[nul]}", "{} {}", "{\"rows\":[\"x]}"}) {
        std::error_code ec;
        scan(doc, 3, ec);
        INFO(doc);
        CHECK(ec);
    }
}

TEST_CASE("span scanner: long streamed strings with backslash runs end at their closing quote", "[scanner]") {
    // Runs of 0 to 5 backslashes before quotes and letters, at every offset within the
    // scanner's 16-byte blocks: an even run leaves the quote unescaped, an odd one escapes it.
    std::string text;
    for (int k = 0; k < 400; ++k) {
        text.append(static_cast<std::size_t>(k % 7), 'a');
        const int run = k % 6;
        if (run % 2 == 1) {
            text.append(static_cast<std::size_t>(run), '\\');
            text += '"';  // escaped
        } else {
            text.append(static_cast<std::size_t>(run), '\\');
            text += run == 0 ? 'z' : 'n';  // an even run is plain backslashes; then a letter
        }
    }
    const std::string blob = "\"" + text + "\"";
    const std::string doc = "{\"blob\":" + blob + ",\"rows\":[\"after\"]}";
    for (std::size_t chunk : {std::size_t{1}, std::size_t{5}, std::size_t{16}, std::size_t{17},
                              std::size_t{33}, std::size_t{100}, doc.size()}) {
        std::error_code ec;
        const Recorder r = scan(doc, chunk, ec);
        INFO("chunk " << chunk);
        REQUIRE_FALSE(ec);
        CHECK(r.blob == blob);
        CHECK(r.rows == std::vector<std::string>{"\"after\""});
    }
}
