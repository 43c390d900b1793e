// The `json` and `inline_json` formats: a root array of row objects ({"view.field": value}),
// or a root object whose `data` is that array, or (inline_json) a string holding it,
// which is unescaped and read on the fly. The keys of the first row are the columns.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/json_span_scanner.hpp"
#include "core/mapping/attachment_decoder.hpp"
#include "core/mapping/result_reader.hpp"
#include "core/mapping/row_parser.hpp"

namespace lsr::core {

class JsonRowsReader final : public ResultReader, private JsonSpanScanner::Handler {
  public:
    JsonRowsReader(RowConsumer& consumer, std::size_t max_row_bytes);

    std::error_code feed(std::string_view chunk) override;
    std::error_code finish() override;

  private:
    JsonSpanScanner::Decision on_value_start(const JsonSpanScanner::ValueStart& start) override;
    std::error_code on_value_bytes(std::string_view bytes) override;
    std::error_code on_value_end(std::string_view captured, std::uint64_t begin, std::uint64_t end,
                                 int tag) override;
    std::error_code row(std::string_view text);
    std::error_code report(std::error_code ec);
    std::error_code not_a_result(const std::string& why);

    RowConsumer& consumer_;
    std::size_t max_row_bytes_;
    RowParser parser_;
    JsonSpanScanner scanner_;
    bool columns_sent_ = false;
    bool root_is_container_ = false;
    char root_first_ = 0;
    char data_first_ = 0;  // first byte of the root object's `data`; 0 while none was seen
    bool fatal_reported_ = false;
    // inline_json: the rows inside the string `data`.
    std::unique_ptr<AttachmentDecoder> inline_decoder_;
    std::unique_ptr<JsonRowsReader> inline_reader_;
    std::string decoded_;
};

}  // namespace lsr::core
