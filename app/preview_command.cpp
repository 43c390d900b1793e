// `looker-segment-relay preview`: reads an execute payload (or a bare result file), maps
// it exactly as an execute would, and prints the events instead of sending them.
#include "app/preview_command.hpp"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>

#include "config/config_loader.hpp"
#include "core/hub/execute_answer.hpp"
#include "core/hub/execute_payload_scanner.hpp"
#include "core/mapping/attachment_decoder.hpp"
#include "core/mapping/call_type.hpp"
#include "core/mapping/result_format.hpp"
#include "core/mapping/result_mapper.hpp"

namespace lsr::app {
namespace {

constexpr const char* kUsage =
    "usage: looker-segment-relay preview [--config FILE] [--mode hub|default]\n"
    "           [--action segment_event|segment_track|segment_group] [--event NAME]\n"
    "           [--format json_detail|json_detail_lite_stream|json|inline_json|csv|txt] FILE\n"
    "Reads an execute payload or a result file (\"-\" for stdin) and prints the Segment events it\n"
    "would become, one JSON object per line on stdout; rejected rows and the summary go to stderr.\n"
    "Nothing is sent.\n";

struct PreviewArgs {
    std::string config_file;
    std::optional<core::MappingMode> mode;
    std::optional<core::CallType> call;
    std::optional<std::string> event;
    std::optional<core::ResultFormat> format;
    std::string input;
};

int usage(const std::string& problem) {
    if (!problem.empty()) std::cerr << "preview: " << problem << "\n";
    std::cerr << kUsage;
    return 2;
}

// Returns an empty string on success, otherwise the problem.
std::string parse_args(const std::vector<std::string>& args, PreviewArgs& out) {
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        auto value = [&](std::string& v) {
            if (i + 1 >= args.size()) return false;
            v = args[++i];
            return true;
        };
        std::string v;
        if (a == "--config") {
            if (!value(out.config_file)) return "--config needs a file";
        } else if (a == "--mode") {
            if (!value(v)) return "--mode needs hub or default";
            if (v == "hub") {
                out.mode = core::MappingMode::hub;
            } else if (v == "default" || v == "standard") {
                out.mode = core::MappingMode::standard;
            } else {
                return "unknown mode " + v;
            }
        } else if (a == "--action") {
            if (!value(v)) return "--action needs an action name";
            out.call = core::call_type_from_action(v);
            if (!out.call) return "unknown action " + v;
        } else if (a == "--event") {
            if (!value(v)) return "--event needs a name";
            out.event = v;
        } else if (a == "--format") {
            if (!value(v)) return "--format needs a format";
            out.format = core::parse_result_format(v);
            if (!out.format) return "unknown format " + v;
        } else if (a == "-h" || a == "--help") {
            return "help";
        } else if (a.size() > 1 && a[0] == '-' && a != "-") {
            return "unknown option " + a;
        } else if (out.input.empty()) {
            out.input = a;
        } else {
            return "only one FILE";
        }
    }
    if (out.input.empty()) return "FILE is missing";
    return {};
}

bool read_input(const std::string& path, std::string& out) {
    if (path == "-") {
        out.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
        return true;
    }
    std::ifstream file(path, std::ios::binary);
    if (!file) return false;
    std::ostringstream buffer;
    buffer << file.rdbuf();
    out = buffer.str();
    return true;
}

class PrintingSink final : public core::EventSink {
  public:
    void on_event(const core::MappedEvent& e) override {
        std::fwrite(e.json.data(), 1, e.json.size(), stdout);
        std::fputc('\n', stdout);
    }
    void on_reject(const core::RowReject& r) override {
        std::cerr << "row " << r.row_index + 1 << " rejected: " << r.reason << "\n";
    }
};

// An execute payload (or plain webhook body) rather than a bare result?
bool looks_like_payload(const core::ExecuteRequest& r) {
    return r.type_present || r.attachment.present || r.plan.present || !r.params.empty();
}

int map_and_print(const core::MapperOptions& options, core::ResultFormat format, std::string_view results,
                  std::size_t max_reasons) {
    PrintingSink sink;
    core::ResultMapper mapper(options, format, sink);
    constexpr std::size_t kChunk = 64 * 1024;
    std::error_code ec;
    for (std::size_t i = 0; i < results.size() && !ec; i += kChunk)
        ec = mapper.feed(results.substr(i, kChunk));
    if (!ec) ec = mapper.finish();
    std::fflush(stdout);
    const auto& summary = mapper.summary();
    for (const std::string& w : summary.warnings) std::cerr << "warning: " << w << "\n";
    std::cerr << "summary: " << summary.message(max_reasons) << "\n";
    if (ec) {
        // The message an execute of the same result would answer (nothing is spooled here:
        // the count is of the events printed before the failure).
        std::cerr << "error: "
                  << core::ExecuteAnswer::failure_message(mapper.error_message(), summary.accepted) << "\n";
        return 1;
    }
    return 0;
}

}  // namespace

int run_preview(const std::vector<std::string>& args) {
    PreviewArgs a;
    if (std::string problem = parse_args(args, a); !problem.empty())
        return usage(problem == "help" ? std::string() : problem);

    core::MapperOptions options;
    if (!a.config_file.empty()) {
        const config::LoadResult loaded = config::ConfigLoader::load_file(a.config_file);
        if (!loaded.ok()) {
            for (const auto& p : loaded.problems) std::cerr << p.to_string() << "\n";
            return 1;
        }
        options.mapping = loaded.config.mapping;
        options.max_event_bytes = loaded.config.segment.max_event_bytes;
    }
    if (a.mode) options.mapping.mode = *a.mode;
    options.call = a.call.value_or(core::CallType::identify);
    options.run_id = "preview";
    options.received_at_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count();

    std::string input;
    if (!read_input(a.input, input)) {
        std::cerr << "preview: cannot read " << a.input << "\n";
        return 1;
    }

    core::ExecutePayloadScanner scanner;
    const bool parsed = !scanner.feed(input) && !scanner.finish();
    const core::ExecuteRequest& request = scanner.request();
    if (!parsed || !looks_like_payload(request)) {  // a bare result file
        options.event = a.event.value_or("");
        core::ResultOrigin bare;
        bare.action_api = false;
        return map_and_print(options,
                             a.format.value_or(core::choose_result_format(
                                 bare, std::string_view(input).substr(0, core::kFormatSniffBytes))),
                             input, options.mapping.max_reasons_reported);
    }

    options.hidden_fields = request.plan.hidden_fields;
    options.plan_id = request.plan.scheduled_plan_id;
    auto event = request.form_params.find("event");
    options.event = a.event.value_or(event == request.form_params.end() ? "" : event->second);
    const core::AttachmentInfo& att = request.attachment;
    if (att.kind == core::AttachmentInfo::Kind::none) {
        if (!request.plan.download_url.empty()) {
            std::cerr << "preview: the payload names a download_url (" << request.plan.download_url
                      << "); preview does not fetch it. Save the result and pass that file instead.\n";
        } else {
            std::cerr << "preview: A streaming action was sent incompatible data. The action must have a "
                         "download url or an attachment.\n";
        }
        return 1;
    }
    if (auto why = core::unreadable_attachment(att.mimetype, att.extension)) {
        std::cerr << "error: " << core::ExecuteAnswer::failure_message(*why, 0) << "\n";
        return 1;
    }
    core::AttachmentDecoder decoder(att.kind, att.base64());
    std::string results;
    const std::string_view raw =
        std::string_view(input).substr(att.data_begin, att.data_end - att.data_begin);
    if (decoder.feed(raw, results) || decoder.finish(results)) {
        std::cerr << "preview: attachment.data could not be decoded\n";
        return 1;
    }
    // The execute path's decision (core::choose_result_format), unless --format says otherwise.
    core::ResultOrigin origin;
    origin.action_api = true;
    origin.inline_attachment = true;
    origin.mimetype = att.mimetype;
    origin.extension = att.extension;
    const core::ResultFormat format = a.format.value_or(
        core::choose_result_format(origin, std::string_view(results).substr(0, core::kFormatSniffBytes)));
    return map_and_print(options, format, results, options.mapping.max_reasons_reported);
}

}  // namespace lsr::app
