#include "core/mapping/result_mapper.hpp"

#include <algorithm>

#include "core/core_error.hpp"
#include "core/iso_time.hpp"
#include "core/mapping/delimited_reader.hpp"
#include "core/mapping/destination_readiness.hpp"
#include "core/mapping/event_validator.hpp"
#include "core/mapping/field_set.hpp"
#include "core/mapping/hub_row_mapper.hpp"
#include "core/mapping/json_detail_reader.hpp"
#include "core/mapping/json_rows_reader.hpp"
#include "core/mapping/standard_row_mapper.hpp"

namespace lsr::core {
namespace {

constexpr const char* kNoIdentityColumn =
    "No identity column: results without tags need mapping.identity (user_id, anonymous_id or email) to name "
    "one.";
constexpr std::size_t kFirstReasons = 20;

std::string quoted(std::string_view s) {
    std::string out;
    JsonOut(out).string(s);
    return out;
}

std::unique_ptr<RowMapper> make_mapper(const MapperOptions& o, const RunState& run) {
    if (o.mapping.mode == core::MappingMode::hub) return std::make_unique<HubRowMapper>(run);
    return std::make_unique<StandardRowMapper>(run);
}

}  // namespace

class ResultMapper::Impl final : public RowConsumer {
  public:
    Impl(MapperOptions options, ResultFormat format, EventSink& sink)
        : options_(std::move(options)),
          sink_(sink),
          readiness_(options_.mapping.destinations, options_.mapping.disable_unready_destinations),
          validator_(options_.max_event_bytes) {
        run_.options = &options_;
        run_.readiness = &readiness_;
        run_.timestamp_json = quoted(format_iso8601_ms(options_.received_at_ms));
        mapper_ = make_mapper(options_, run_);
        reader_ = make_reader(format);
        for (const std::string& name : readiness_.unknown())
            warn("destination " + name + " is not in the destination table; not checked");
    }

    std::error_code feed(std::string_view chunk) {
        if (failed_) return failed_;
        return stop(reader_->feed(chunk));
    }
    std::error_code finish() {
        if (failed_) return failed_;
        return stop(reader_->finish());
    }

    MappingSummary summary;
    std::string error;

  private:
    std::unique_ptr<ResultReader> make_reader(ResultFormat format) {
        const std::size_t max_row = options_.max_row_bytes;
        switch (format) {
            case ResultFormat::json_detail:
            case ResultFormat::json_detail_lite_stream:
                return std::make_unique<JsonDetailReader>(*this, max_row);
            case ResultFormat::json:
            case ResultFormat::inline_json:
                return std::make_unique<JsonRowsReader>(*this, max_row);
            case ResultFormat::csv:
                return std::make_unique<DelimitedReader>(*this, ',', true, options_.mapping.identity,
                                                         max_row);
            case ResultFormat::txt:
                return std::make_unique<DelimitedReader>(*this, '\t', false, options_.mapping.identity,
                                                         max_row);
        }
        return std::make_unique<JsonDetailReader>(*this, max_row);
    }

    std::error_code stop(std::error_code ec) {
        if (ec) {
            failed_ = ec;
            if (error.empty()) error = "The result could not be read (" + ec.message() + ").";
        }
        return ec;
    }

    void on_fatal(const std::string& message) override {
        if (error.empty()) error = message;
    }

    void warn(const std::string& text) {
        if (summary.warnings.size() >= options_.max_warnings) return;
        if (std::find(summary.warnings.begin(), summary.warnings.end(), text) == summary.warnings.end())
            summary.warnings.push_back(text);
    }

    std::error_code start_fields(bool tagged) {
        fields_.apply_identity_columns(options_.mapping.identity);
        mapper_->prepare(fields_);
        if (fields_.any_identity()) return {};
        on_fatal(tagged ? "Query requires a field tagged email or user_id or segment_anonymous_id."
                        : kNoIdentityColumn);
        return CoreError::missing_tagged_field;
    }

    std::error_code on_fields(const rapidjson::Value& fields) override {
        fields_ = FieldSet::from_json_detail(fields, options_.hidden_fields);
        return start_fields(true);
    }

    std::error_code on_columns(const std::vector<std::string>& names) override {
        fields_ = FieldSet::from_columns(names, options_.hidden_fields);
        return start_fields(false);
    }

    std::error_code on_ran_at(std::string_view ran_at) override {
        if (ran_at.empty()) return {};
        run_.ran_at = ran_at;
        if (auto ms = parse_iso8601_ms(ran_at)) {
            run_.timestamp_json = quoted(format_iso8601_ms(*ms));
        } else if (options_.mapping.mode == core::MappingMode::hub) {
            run_.timestamp_json = "null";  // JSON.stringify(new Date("garbage"))
        } else {
            warn("ran_at " + std::string(ran_at) + " is not a date; the receive time is used");
        }
        return {};
    }

    std::error_code on_row(const rapidjson::Value& row, bool wrapped) override {
        const std::uint64_t index = summary.rows;
        result_.clear();
        std::string fatal;
        if (auto ec = mapper_->map(row, wrapped, result_, fatal)) {
            on_fatal(fatal);  // the row that stopped the run is not counted
            return ec;
        }
        ++summary.rows;
        for (const std::string& w : result_.warnings) warn(w);
        if (result_.reject_reason.empty()) {
            if (auto reason = validator_.check(result_.json, result_.message_id))
                result_.reject_reason = *reason;
        }
        if (!result_.reject_reason.empty()) {
            reject(index, result_.reject_reason);
            return {};
        }
        ++summary.accepted;
        for (const Destination* d : result_.unready) ++summary.not_ready_by_destination[d->integration_name];
        sink_.on_event(MappedEvent{result_.json, result_.message_id, index});
        return {};
    }

    std::error_code on_bad_row(const std::string& reason) override {
        reject(summary.rows++, reason);
        return {};
    }

    void reject(std::uint64_t index, const std::string& reason) {
        ++summary.rejected;
        ++summary.rejected_by_reason[reason];
        if (summary.first_reasons.size() < kFirstReasons)
            summary.first_reasons.push_back("row " + std::to_string(index + 1) + ": " + reason);
        sink_.on_reject(RowReject{index, reason});
    }

    MapperOptions options_;
    EventSink& sink_;
    DestinationReadiness readiness_;
    EventValidator validator_;
    RunState run_;
    FieldSet fields_;
    std::unique_ptr<RowMapper> mapper_;
    std::unique_ptr<ResultReader> reader_;
    RowResult result_;
    std::error_code failed_;
};

ResultMapper::ResultMapper(MapperOptions options, ResultFormat format, EventSink& sink)
    : impl_(std::make_unique<Impl>(std::move(options), format, sink)) {}
ResultMapper::~ResultMapper() = default;

std::error_code ResultMapper::feed(std::string_view chunk) {
    return impl_->feed(chunk);
}
std::error_code ResultMapper::finish() {
    return impl_->finish();
}
const MappingSummary& ResultMapper::summary() const {
    return impl_->summary;
}
const std::string& ResultMapper::error_message() const {
    return impl_->error;
}

}  // namespace lsr::core
