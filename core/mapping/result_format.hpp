// The Looker result formats the relay reads, and how to tell which one a body is when
// nobody says (plain webhooks carry only a mimetype and an extension).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
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

// Formats the relay cannot read (xlsx, pdf, png, zip, html, jpg): the message that says so,
// instead of mapping binary bytes; nullopt for everything else.
std::optional<std::string> unreadable_attachment(std::string_view mimetype, std::string_view extension);

// Where a result came from: what choose_result_format needs besides its first bytes.
struct ResultOrigin {
    // An Action API execute (or `preview` of one): Looker sends the json_detail the action
    // advertises, so a JSON object is read as json_detail (hub mode then answers the hub's
    // texts, e.g. for a result without `fields`). False: a plain webhook or a bare file.
    bool action_api = true;
    // The result is attachment.data (not a download_url body): its mimetype and extension
    // name csv and txt.
    bool inline_attachment = false;
    std::string_view mimetype;
    std::string_view extension;
};

// How much of a result choose_result_format looks at (serve decides once it has this much).
inline constexpr std::size_t kFormatSniffBytes = 64 * 1024;

// The one decision `serve` (the execute path) and `preview` share: the attachment's
// mimetype/extension when they name a format, else the first bytes (sniff_result_format),
// with a JSON object read as json_detail on the Action API. `head`: the first
// kFormatSniffBytes of the result (or all of it when shorter).
ResultFormat choose_result_format(const ResultOrigin& origin, std::string_view head);

}  // namespace lsr::core
