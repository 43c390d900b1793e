#include "core/mapping/json_detail_reader.hpp"

#include "core/core_error.hpp"
#include "core/text.hpp"

namespace lsr::core {
namespace {
enum Tag { kRoot = 1, kFields, kRanAt, kData, kRow };
}

JsonDetailReader::JsonDetailReader(RowConsumer& consumer, std::size_t max_row_bytes)
    : consumer_(consumer), max_row_bytes_(max_row_bytes), scanner_(*this) {}

std::error_code JsonDetailReader::scanner_error(std::error_code ec) {
    if (!ec || fatal_reported_) return ec;
    fatal_reported_ = true;
    if (ec == CoreError::too_large) {
        consumer_.on_fatal("A row of the result is larger than " + std::to_string(max_row_bytes_) +
                           " bytes.");
    } else if (ec.category() == core_category() &&
               (ec == CoreError::invalid_json || ec == CoreError::truncated || ec == CoreError::too_deep ||
                ec == CoreError::invalid_results)) {
        consumer_.on_fatal("The result is not valid json_detail JSON (" + ec.message() + " near byte " +
                           std::to_string(scanner_.offset()) + ").");
    }
    return ec;
}

// An object that is not a Looker result (no root `data` array): an error with a clear
// message, never a success with "0 rows". `data: []` is a result with no rows.
std::error_code JsonDetailReader::not_a_result(const std::string& why) {
    if (!fatal_reported_) {
        fatal_reported_ = true;
        consumer_.on_fatal("The result is not a Looker result: " + why + ".");
    }
    return CoreError::invalid_results;
}

std::error_code JsonDetailReader::feed(std::string_view chunk) {
    copy_.assign(chunk.data(), chunk.size());
    copy_.append(17, '\0');  // the terminator and RapidJSON's SSE4.2 over-read
    chunk_base_ = chunk.data();
    copy_usable_ = true;
    return scanner_error(scanner_.feed(chunk));
}

// A row whole in this chunk is parsed once, in situ in the copy, instead of being scanned
// and then parsed. Anything unusual (a row cut by the chunk end, invalid JSON, deep
// nesting) returns 0 and takes the scanner's path, which decides exactly as before.
std::size_t JsonDetailReader::consume_direct(std::string_view rest, int tag, std::error_code& ec) {
    if (tag != kRow || !copy_usable_) return 0;
    const auto offset = static_cast<std::size_t>(rest.data() - chunk_base_);
    std::size_t consumed = 0;
    const rapidjson::Value* row =
        parser_.parse_prefix(copy_.data() + offset, rest, row_depth_budget_, consumed);
    if (!row) {
        copy_usable_ = false;  // the failed parse may have written into the copy
        return 0;
    }
    if (consumed > max_row_bytes_) {
        ec = CoreError::too_large;
        return 0;
    }
    ec = row->IsObject() ? consumer_.on_row(*row, true) : consumer_.on_bad_row("row is not an object");
    return consumed;
}
std::error_code JsonDetailReader::finish() {
    return scanner_error(scanner_.finish());
}

JsonSpanScanner::Decision JsonDetailReader::on_value_start(const JsonSpanScanner::ValueStart& s) {
    using Action = JsonSpanScanner::Action;
    if (s.depth == 0) {
        root_is_object_ = s.first == '{';
        return {root_is_object_ ? Action::descend : Action::stream, kRoot};
    }
    if (s.depth == 1) {
        if (s.key == "fields") return {Action::capture, kFields, max_row_bytes_};
        if (s.key == "ran_at") return {Action::capture, kRanAt, 4096};
        if (s.key == "data") {
            data_first_ = s.first;  // anything but an array is reported when the root closes
            if (s.first == '[') return {Action::descend, kData};
        }
        return {};
    }
    if (s.depth == 2 && s.parent_tag == kData) {
        row_depth_budget_ = JsonSpanScanner::kDefaultMaxDepth - s.depth;  // as the scanner allows
        JsonSpanScanner::Decision d{Action::capture, kRow, max_row_bytes_};
        d.direct = true;
        return d;
    }
    return {};
}

std::error_code JsonDetailReader::on_value_end(std::string_view captured, std::uint64_t, std::uint64_t,
                                               int tag) {
    if (tag == kRow) {
        std::string reason;
        const rapidjson::Value* row = parser_.parse(captured, reason);
        if (!row) return consumer_.on_bad_row(reason);
        if (!row->IsObject()) return consumer_.on_bad_row("row is not an object");
        return consumer_.on_row(*row, true);
    }
    if (tag == kFields || tag == kRanAt) {
        std::string reason;
        const rapidjson::Value* v = parser_.parse(captured, reason);
        if (!v) return CoreError::invalid_json;
        if (tag == kFields) return consumer_.on_fields(*v);
        if (v->IsString()) return consumer_.on_ran_at({v->GetString(), v->GetStringLength()});
        return {};
    }
    if (tag == kRoot && !root_is_object_) return CoreError::invalid_results;
    if (tag == kRoot && data_first_ == 0) return not_a_result("it has no \"data\" array of rows");
    if (tag == kRoot && data_first_ != '[')
        return not_a_result("its \"data\" is " + std::string(json_value_kind(data_first_)) +
                            ", not an array of rows");
    return {};  // the root or data closed
}

std::error_code JsonDetailReader::on_value_bytes(std::string_view) {
    return CoreError::invalid_results;  // only a non-object root is streamed
}

}  // namespace lsr::core
