// The format-specific half of ResultMapper: a ResultReader turns the bytes of one result
// format into fields and rows, and hands them to a RowConsumer as it goes.
#pragma once

#include <rapidjson/document.h>

#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace lsr::core {

class RowConsumer {
  public:
    virtual ~RowConsumer() = default;
    virtual std::error_code on_fields(const rapidjson::Value& fields) = 0;          // json_detail `fields`
    virtual std::error_code on_columns(const std::vector<std::string>& names) = 0;  // untagged formats
    virtual std::error_code on_ran_at(std::string_view ran_at) = 0;
    // wrapped: cells are json_detail cell objects rather than bare values.
    virtual std::error_code on_row(const rapidjson::Value& row, bool wrapped) = 0;
    virtual std::error_code on_bad_row(const std::string& reason) = 0;  // counted and rejected
    // A structural problem of the whole result; the text is for Looker.
    virtual void on_fatal(const std::string& message) = 0;
};

class ResultReader {
  public:
    virtual ~ResultReader() = default;
    virtual std::error_code feed(std::string_view chunk) = 0;
    virtual std::error_code finish() = 0;
};

}  // namespace lsr::core
