// csv (RFC 4180: commas, double quotes, "" inside quotes, CRLF or LF) and txt (Looker's
// tab-separated export, no quoting) read as a stream; the first record is the header.
//
// Cells are text; the numeric-string rule: a cell whose whole text is a JSON number
// (-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)? — so "007", "+1", "1,000" and " 1" stay text)
// and whose column is not an identity column becomes a number; an empty cell is null
// (left out by default); everything else, "true" and "Yes" included, is a string.
#pragma once

#include <rapidjson/document.h>

#include <string>
#include <vector>

#include "core/mapping/mapping_settings.hpp"
#include "core/mapping/result_reader.hpp"

namespace lsr::core {

class DelimitedReader final : public ResultReader {
  public:
    DelimitedReader(RowConsumer& consumer, char separator, bool quoting,
                    const core::IdentityColumns& identity, std::size_t max_row_bytes);

    std::error_code feed(std::string_view chunk) override;
    std::error_code finish() override;

  private:
    std::error_code end_record();
    std::error_code emit_row();
    void end_field();

    RowConsumer& consumer_;
    char separator_;
    bool quoting_;
    core::IdentityColumns identity_;
    std::size_t max_row_bytes_;

    std::vector<std::string> record_;
    std::string field_;
    std::size_t record_bytes_ = 0;
    bool in_quotes_ = false;
    bool quote_seen_ = false;  // a quote inside a quoted field: end or the first of ""
    bool field_quoted_ = false;
    bool header_done_ = false;
    bool cr_pending_ = false;
    std::vector<std::string> columns_;
    std::vector<bool> text_only_;  // identity columns keep their text
    rapidjson::Document row_;
    std::uint64_t line_ = 1;
};

}  // namespace lsr::core
