#include "core/mapping/json_rows_reader.hpp"

#include "core/core_error.hpp"
#include "core/mapping/row_cells.hpp"
#include "core/text.hpp"

namespace lsr::core {
namespace {
enum Tag { kRoot = 1, kData, kRow, kInline, kRootScalar };
}

JsonRowsReader::JsonRowsReader(RowConsumer& consumer, std::size_t max_row_bytes)
    : consumer_(consumer), max_row_bytes_(max_row_bytes), scanner_(*this) {}

std::error_code JsonRowsReader::report(std::error_code ec) {
    if (!ec || fatal_reported_) return ec;
    fatal_reported_ = true;
    if (ec == CoreError::too_large) {
        consumer_.on_fatal("A row of the result is larger than " + std::to_string(max_row_bytes_) +
                           " bytes.");
    } else if (ec.category() == core_category() && ec != CoreError::missing_tagged_field &&
               ec != CoreError::missing_cell && ec != CoreError::hub_pivot_null) {
        consumer_.on_fatal("The result is not valid JSON rows (" + ec.message() + " near byte " +
                           std::to_string(scanner_.offset()) + ").");
    }
    return ec;
}

// A document that holds no rows at all (an object without a `data` array, a scalar): an
// error with a clear message, never a success with "0 rows". `[]` and `data: []` are results
// with no rows.
std::error_code JsonRowsReader::not_a_result(const std::string& why) {
    if (!fatal_reported_) {
        fatal_reported_ = true;
        consumer_.on_fatal("The result is not a Looker result: " + why + ".");
    }
    return CoreError::invalid_results;
}

std::error_code JsonRowsReader::feed(std::string_view chunk) {
    return report(scanner_.feed(chunk));
}

std::error_code JsonRowsReader::finish() {
    if (auto ec = scanner_.finish()) return report(ec);
    if (!root_is_container_)
        return not_a_result("it is " + std::string(json_value_kind(root_first_)) + ", not rows");
    return {};
}

JsonSpanScanner::Decision JsonRowsReader::on_value_start(const JsonSpanScanner::ValueStart& s) {
    using Action = JsonSpanScanner::Action;
    if (s.depth == 0) {
        root_first_ = s.first;
        root_is_container_ = s.first == '[' || s.first == '{';
        if (!root_is_container_) return {Action::skip, kRootScalar};
        return {Action::descend, s.first == '[' ? kData : kRoot};
    }
    if (s.depth == 1 && s.parent_tag == kRoot && s.key == "data") {
        data_first_ = s.first;  // anything but an array or a string is reported when the root closes
        if (s.first == '[') return {Action::descend, kData};
        if (s.first == '"') {
            inline_decoder_ = std::make_unique<AttachmentDecoder>(AttachmentInfo::Kind::string, false);
            inline_reader_ = std::make_unique<JsonRowsReader>(consumer_, max_row_bytes_);
            return {Action::stream, kInline};
        }
        return {};
    }
    if (s.parent_tag == kData && s.depth >= 1) return {Action::capture, kRow, max_row_bytes_};
    return {};
}

std::error_code JsonRowsReader::on_value_bytes(std::string_view bytes) {
    // What decoded before a bad byte still reaches the rows, so the outcome does not
    // depend on where the chunks split.
    decoded_.clear();
    const auto ec = inline_decoder_->feed(bytes, decoded_);
    if (!decoded_.empty())
        if (auto row_ec = inline_reader_->feed(decoded_)) return row_ec;
    return ec;
}

std::error_code JsonRowsReader::on_value_end(std::string_view captured, std::uint64_t, std::uint64_t,
                                             int tag) {
    if (tag == kRow) return row(captured);
    if (tag == kInline) {
        decoded_.clear();
        if (auto ec = inline_decoder_->finish(decoded_)) return ec;
        if (!decoded_.empty())
            if (auto ec = inline_reader_->feed(decoded_)) return ec;
        return inline_reader_->finish();
    }
    if (tag == kRoot && data_first_ == 0) return not_a_result("it has no \"data\" array of rows");
    if (tag == kRoot && data_first_ != '[' && data_first_ != '"')
        return not_a_result("its \"data\" is " + std::string(json_value_kind(data_first_)) +
                            ", not an array of rows");
    return {};
}

std::error_code JsonRowsReader::row(std::string_view text) {
    std::string reason;
    const rapidjson::Value* row = parser_.parse(text, reason);
    if (!row) return consumer_.on_bad_row(reason);
    if (!row->IsObject()) return consumer_.on_bad_row("row is not an object");
    if (!columns_sent_) {
        columns_sent_ = true;
        std::vector<std::string> names;
        for (const auto& m : row->GetObject()) names.emplace_back(view_of(m.name));
        if (auto ec = consumer_.on_columns(names)) return ec;
    }
    return consumer_.on_row(*row, false);
}

}  // namespace lsr::core
