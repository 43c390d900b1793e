#include "core/mapping/delimited_reader.hpp"

#include <charconv>
#include <cmath>
#include <cstdlib>

#include "core/core_error.hpp"
#include "core/text.hpp"

namespace lsr::core {
namespace {}  // namespace

DelimitedReader::DelimitedReader(RowConsumer& consumer, char separator, bool quoting,
                                 const core::IdentityColumns& identity, std::size_t max_row_bytes)
    : consumer_(consumer),
      separator_(separator),
      quoting_(quoting),
      identity_(identity),
      max_row_bytes_(max_row_bytes) {}

void DelimitedReader::end_field() {
    record_.push_back(std::move(field_));
    field_.clear();
    field_quoted_ = false;
    quote_seen_ = false;
}

std::error_code DelimitedReader::feed(std::string_view chunk) {
    for (const char c : chunk) {
        if (++record_bytes_ > max_row_bytes_) {
            consumer_.on_fatal("A row of the result is larger than " + std::to_string(max_row_bytes_) +
                               " bytes.");
            return CoreError::too_large;
        }
        if (in_quotes_) {
            if (quote_seen_) {
                quote_seen_ = false;
                if (c == '"') {  // "" is one quote
                    field_.push_back('"');
                    continue;
                }
                in_quotes_ = false;  // the closing quote; c is handled below
            } else if (c == '"') {
                quote_seen_ = true;
                continue;
            } else {
                if (c == '\n') ++line_;
                field_.push_back(c);
                continue;
            }
        }
        if (cr_pending_) {  // a CR not followed by LF is content
            cr_pending_ = false;
            if (c != '\n') field_.push_back('\r');
        }
        if (c == '\r') {
            cr_pending_ = true;
        } else if (c == separator_) {
            end_field();
        } else if (c == '\n') {
            end_field();
            if (auto ec = end_record()) return ec;
            ++line_;
        } else if (c == '"' && quoting_ && field_.empty() && !field_quoted_) {
            in_quotes_ = true;
            field_quoted_ = true;
        } else {
            field_.push_back(c);
        }
    }
    return {};
}

std::error_code DelimitedReader::finish() {
    if (in_quotes_ && !quote_seen_) {
        consumer_.on_fatal("The CSV result has an unterminated quote (line " + std::to_string(line_) + ").");
        return CoreError::invalid_csv;
    }
    in_quotes_ = false;
    cr_pending_ = false;
    if (!field_.empty() || !record_.empty() || field_quoted_) {
        end_field();
        return end_record();
    }
    return {};
}

std::error_code DelimitedReader::end_record() {
    record_bytes_ = 0;
    std::vector<std::string> record = std::move(record_);
    record_.clear();
    if (record.size() == 1 && record[0].empty()) return {};  // a blank line
    if (!header_done_) {
        header_done_ = true;
        columns_ = std::move(record);
        if (columns_[0].rfind("\xEF\xBB\xBF", 0) == 0) columns_[0].erase(0, 3);  // a UTF-8 byte order mark
        text_only_.clear();
        for (const std::string& name : columns_) {
            text_only_.push_back(equals_ci(name, identity_.user_id) ||
                                 equals_ci(name, identity_.anonymous_id) ||
                                 equals_ci(name, identity_.email) || equals_ci(name, identity_.group_id));
        }
        return consumer_.on_columns(columns_);
    }
    record_ = std::move(record);
    auto ec = emit_row();
    record_.clear();
    return ec;
}

std::error_code DelimitedReader::emit_row() {
    if (record_.size() > columns_.size())
        return consumer_.on_bad_row("line " + std::to_string(line_) + " has " +
                                    std::to_string(record_.size()) + " cells, the header " +
                                    std::to_string(columns_.size()));
    row_.SetObject();
    auto& a = row_.GetAllocator();
    for (std::size_t i = 0; i < columns_.size(); ++i) {
        rapidjson::Value name(columns_[i].data(), static_cast<rapidjson::SizeType>(columns_[i].size()), a);
        rapidjson::Value value;
        const std::string* cell = i < record_.size() ? &record_[i] : nullptr;
        if (!cell || cell->empty()) {
            value.SetNull();
        } else if (!text_only_[i] && is_json_number(*cell)) {
            std::int64_t n = 0;
            const auto r = std::from_chars(cell->data(), cell->data() + cell->size(), n);
            if (r.ec == std::errc() && r.ptr == cell->data() + cell->size()) {
                value.SetInt64(n);
            } else {
                const double d = std::strtod(cell->c_str(), nullptr);
                if (std::isfinite(d)) {
                    value.SetDouble(d);
                } else {
                    value.SetString(cell->data(), static_cast<rapidjson::SizeType>(cell->size()), a);
                }
            }
        } else {
            value.SetString(cell->data(), static_cast<rapidjson::SizeType>(cell->size()), a);
        }
        row_.AddMember(name, value, a);
    }
    auto ec = consumer_.on_row(row_, false);
    row_.SetNull();
    row_.GetAllocator().Clear();
    return ec;
}

}  // namespace lsr::core
