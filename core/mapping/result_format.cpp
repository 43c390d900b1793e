#include "core/mapping/result_format.hpp"

#include "core/ascii_lower.hpp"

namespace lsr::core {
namespace {

std::string_view before_semicolon(std::string_view s) {
    auto pos = s.find(';');
    return pos == std::string_view::npos ? s : s.substr(0, pos);
}

std::string_view trim_left(std::string_view s) {
    // A UTF-8 byte order mark and whitespace may precede the document.
    if (s.substr(0, 3) == "\xEF\xBB\xBF") s.remove_prefix(3);
    while (!s.empty() && (s[0] == ' ' || s[0] == '\n' || s[0] == '\r' || s[0] == '\t')) s.remove_prefix(1);
    return s;
}

}  // namespace

std::optional<std::string> unreadable_attachment(std::string_view mimetype, std::string_view extension) {
    const std::string ext = ascii_lower(extension);
    const std::string mime = ascii_lower(before_semicolon(mimetype));
    bool bad = mime == "application/pdf" || mime == "image/png" || mime == "application/zip" ||
               mime == "text/html" ||
               mime == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
    for (std::string_view e : {"xlsx", "pdf", "png", "zip", "html", "jpg", "jpeg"}) bad = bad || ext == e;
    if (!bad) return std::nullopt;
    return "The attachment is " + std::string(extension.empty() ? mimetype : extension) +
           "; the relay reads json_detail, json_detail_lite_stream, json, inline_json, csv and txt results.";
}

std::optional<ResultFormat> parse_result_format(std::string_view name) {
    if (name == "json_detail") return ResultFormat::json_detail;
    if (name == "json_detail_lite_stream") return ResultFormat::json_detail_lite_stream;
    if (name == "json") return ResultFormat::json;
    if (name == "inline_json") return ResultFormat::inline_json;
    if (name == "csv") return ResultFormat::csv;
    if (name == "txt") return ResultFormat::txt;
    return std::nullopt;
}

std::string_view result_format_name(ResultFormat format) {
    switch (format) {
        case ResultFormat::json_detail:
            return "json_detail";
        case ResultFormat::json_detail_lite_stream:
            return "json_detail_lite_stream";
        case ResultFormat::json:
            return "json";
        case ResultFormat::inline_json:
            return "inline_json";
        case ResultFormat::csv:
            return "csv";
        case ResultFormat::txt:
            return "txt";
    }
    return "json_detail";
}

std::optional<ResultFormat> guess_result_format(std::string_view mimetype, std::string_view extension) {
    const std::string_view mime = before_semicolon(mimetype);
    if (mime == "text/csv" || extension == "csv") return ResultFormat::csv;
    if (mime == "text/plain" || mime == "text/tab-separated-values" || extension == "txt")
        return ResultFormat::txt;
    return std::nullopt;
}

ResultFormat sniff_result_format(std::string_view head) {
    head = trim_left(head);
    if (head.empty()) return ResultFormat::json_detail;
    if (head[0] == '[') return ResultFormat::json;
    if (head[0] == '{') {
        if (head.find("\"fields\"") != std::string_view::npos ||
            head.find("\"ran_at\"") != std::string_view::npos)
            return ResultFormat::json_detail;
        auto data = head.find("\"data\"");
        if (data != std::string_view::npos) {
            auto rest = trim_left(head.substr(data + 6));
            if (!rest.empty() && rest[0] == ':') rest = trim_left(rest.substr(1));
            if (!rest.empty() && rest[0] == '"') return ResultFormat::inline_json;
        }
        return ResultFormat::json;
    }
    const auto line_end = head.find('\n');
    const auto first_line = head.substr(0, line_end);
    return first_line.find('\t') != std::string_view::npos ? ResultFormat::txt : ResultFormat::csv;
}

ResultFormat choose_result_format(const ResultOrigin& origin, std::string_view head) {
    ResultFormat format = sniff_result_format(head);
    if (origin.inline_attachment) {
        if (auto guessed = guess_result_format(origin.mimetype, origin.extension)) return *guessed;
    }
    if (origin.action_api && format == ResultFormat::json) {
        const std::string_view h = trim_left(head);
        if (!h.empty() && h.front() == '{') return ResultFormat::json_detail;
    }
    return format;
}

}  // namespace lsr::core
