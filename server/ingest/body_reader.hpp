// The rows of an execute, from their bytes to the mapper: the result's first bytes decide
// its format (core::choose_result_format, as `preview` decides), then every byte goes
// through core::ResultMapper to the job's EventSink. The bytes come from the attachment's
// span of the request body (in memory or in the body file, decoded by
// core::AttachmentDecoder) or, chunk by chunk, from the download stream (consume()).
// Used from one thread at a time (the job's worker tasks run one after another).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/hub/execute_payload_scanner.hpp"
#include "core/mapping/attachment_decoder.hpp"
#include "core/mapping/event_sink.hpp"
#include "core/mapping/mapper_options.hpp"
#include "core/mapping/result_format.hpp"
#include "core/mapping/result_mapper.hpp"

namespace lsr::server {

class BodyReader {
  public:
    static constexpr std::size_t kReadChunk = core::kAttachmentReadChunk;

    // Where the result came from (what choose_result_format needs besides its first bytes).
    struct Origin {
        bool action_api = true;
        bool inline_attachment = false;
        std::string mimetype;
        std::string extension;
    };

    // `stopped`: the job stopped (nothing more is mapped); `interrupted`: Looker left or the
    // drain ran out (nothing more is read; what was read is still mapped).
    BodyReader(const core::MapperOptions& options, Origin origin, core::EventSink& sink,
               std::function<bool()> stopped, std::function<bool()> interrupted);

    // Result bytes, in order.
    void consume(std::string_view data);

    // Reads attachment.data from `body` (or, when it is empty, from `body_file`), decoding
    // it. A read or decode error is written to `failure` (when it is still empty);
    // `on_cut_short` is called when the reading stopped before the end of the data, before
    // the decoder is finished. False when the body file could not be opened (nothing read).
    bool read_attachment(const std::string& body, const std::string& body_file, const core::AttachmentInfo& a,
                         std::string& failure, const std::function<void()>& on_cut_short);

    // No more bytes. `complete`: the input was whole, so the mapper finishes its last row (a
    // half-read last row, a cut csv line say, must not become an event).
    void end_of_data(bool complete);

    bool halted() const { return halted_; }  // the mapper refused the input: nothing more is read
    bool failed() const { return failed_; }  // the mapper refused the input, or its end
    const std::string& error_message() const;
    const core::MappingSummary& summary() const;
    std::string_view format_name() const;

  private:
    void make_mapper();
    void feed(std::string_view data);
    bool stopped() const { return halted_ || stopped_(); }

    core::MapperOptions options_;
    Origin origin_;
    core::EventSink& sink_;
    std::function<bool()> stopped_;
    std::function<bool()> interrupted_;
    std::string head_;
    core::ResultFormat format_ = core::ResultFormat::json_detail;
    std::unique_ptr<core::ResultMapper> mapper_;
    bool halted_ = false;
    bool failed_ = false;
};

}  // namespace lsr::server
