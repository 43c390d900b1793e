// json_detail and json_detail_lite_stream as a stream: the root `fields` and `ran_at`
// are captured whole, each element of the ROOT `data` array is captured and parsed as
// one row; nothing else is kept (a `data` key inside pivots or fields is not rows).
#pragma once

#include "core/json_span_scanner.hpp"
#include "core/mapping/result_reader.hpp"
#include "core/mapping/row_parser.hpp"

namespace lsr::core {

class JsonDetailReader final : public ResultReader, private JsonSpanScanner::Handler {
  public:
    JsonDetailReader(RowConsumer& consumer, std::size_t max_row_bytes);

    std::error_code feed(std::string_view chunk) override;
    std::error_code finish() override;

  private:
    JsonSpanScanner::Decision on_value_start(const JsonSpanScanner::ValueStart& start) override;
    std::error_code on_value_end(std::string_view captured, std::uint64_t begin, std::uint64_t end,
                                 int tag) override;
    std::error_code on_value_bytes(std::string_view bytes) override;
    std::size_t consume_direct(std::string_view rest, int tag, std::error_code& ec) override;
    std::error_code scanner_error(std::error_code ec);
    std::error_code not_a_result(const std::string& why);

    RowConsumer& consumer_;
    std::size_t max_row_bytes_;
    RowParser parser_;
    JsonSpanScanner scanner_;
    bool fatal_reported_ = false;
    bool root_is_object_ = false;
    char data_first_ = 0;  // first byte of the root `data` value; 0 while none was seen
    // Rows that lie whole in a chunk are parsed straight from a writable copy of it.
    std::string copy_;
    const char* chunk_base_ = nullptr;
    bool copy_usable_ = false;
    std::size_t row_depth_budget_ = 0;
};

}  // namespace lsr::core
