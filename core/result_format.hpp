// The Looker result formats the relay reads, and how to tell which one a body is when
// nobody says (plain webhooks carry only a mimetype and an extension).
#pragma once

#include <optional>
#include <string_view>

namespace lsr::core {

enum class ResultFormat { json_detail, json_detail_lite_stream, json, inline_json, csv, txt };

std::optional<ResultFormat> parse_result_format(std::string_view name);
std::string_view result_format_name(ResultFormat format);

// From an attachment's mimetype ("text/csv", "application/json;base64") and extension.
// JSON mimetypes give nullopt: json, inline_json and json_detail share them, so the
// content decides (sniff_result_format).
std::optional<ResultFormat> guess_result_format(std::string_view mimetype, std::string_view extension);

// From the first bytes of the document: '{' with a "fields" or "ran_at" key is json_detail,
// '{' with a string "data" is inline_json, other JSON is json, a tab in the first line is
// txt, anything else csv.
ResultFormat sniff_result_format(std::string_view head);

}  // namespace lsr::core
