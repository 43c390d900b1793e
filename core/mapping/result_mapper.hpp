// Looker results -> validated Segment events, as a stream: feed the result's bytes in
// chunks of any size; every row becomes an event or a rejection handed to the EventSink
// as soon as it is complete. Memory does not depend on the number of rows.
//
// Formats: json_detail and json_detail_lite_stream (roles from tags), json, inline_json,
// csv, txt (roles from MapperOptions.mapping.identity; csv/txt numeric-string rule in
// core/mapping/delimited_reader.hpp). Modes: MappingMode::hub (the public hub's payload) and
// MappingMode::standard (DESIGN §3).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <system_error>

#include "core/mapping/event_sink.hpp"
#include "core/mapping/mapper_options.hpp"
#include "core/mapping/mapping_summary.hpp"
#include "core/mapping/result_format.hpp"

namespace lsr::core {

class ResultMapper {
  public:
    ResultMapper(MapperOptions options, ResultFormat format, EventSink& sink);
    ~ResultMapper();
    ResultMapper(const ResultMapper&) = delete;
    ResultMapper& operator=(const ResultMapper&) = delete;

    // An error stops the run (rows already handed to the sink stay handed);
    // error_message() then holds the text for Looker.
    std::error_code feed(std::string_view chunk);
    std::error_code finish();

    const MappingSummary& summary() const;
    // Fatal run errors, with the hub's exact texts where the hub has one, e.g.
    // "Query requires a field tagged email or user_id or segment_anonymous_id."
    const std::string& error_message() const;

  private:
    class Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace lsr::core
