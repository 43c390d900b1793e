// `looker-segment-relay preview`: reads an execute payload (or a bare result file), maps
// it exactly as an execute would, and prints the events instead of sending them.
#include "app/preview_command.hpp"

#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>

#include "app/sync_preview.hpp"
#include "config/config_loader.hpp"
#include "core/clock.hpp"
#include "core/delivery/write_key_rule.hpp"
#include "core/hub/action_catalog.hpp"
#include "core/hub/download_url.hpp"
#include "core/hub/execute_answer.hpp"
#include "core/hub/execute_payload_scanner.hpp"
#include "core/hub/execute_request_validator.hpp"
#include "core/mapping/attachment_decoder.hpp"
#include "core/mapping/call_type.hpp"
#include "core/mapping/result_format.hpp"
#include "core/mapping/result_mapper.hpp"

namespace lsr::app {
namespace {

constexpr const char* kUsage =
    "usage: looker-segment-relay preview [--config FILE] [--mode hub|default]\n"
    "           [--action segment_event|segment_track|segment_group] [--event NAME]\n"
    "           [--format json_detail|json_detail_lite_stream|json|inline_json|csv|txt]\n"
    "           [--webhook NAME] [--webhook-id ID] [--result RESULT_FILE]\n"
    "           [--sync-state SPOOL_FILE] [--instance NAME] FILE\n"
    "Reads an execute payload or a result file (\"-\" for stdin) and prints the Segment events it\n"
    "would become, one JSON object per line on stdout; rejected rows and the summary go to stderr.\n"
    "A payload is checked as `serve` checks it (with the config's write key and download rules);\n"
    "a refused one prints the text `serve` would answer, after \"error: \". Nothing is sent.\n"
    "  --webhook NAME       the payload came to the config's plain webhook route NAME (or\n"
    "                       path): its call, event, write key and identity columns apply\n"
    "  --webhook-id ID      the delivery's X-Looker-Webhook-Id: results without ran_at take\n"
    "                       their messageIds from it, as `serve` does (default: none)\n"
    "  --result RESULT_FILE the body the payload's download_url answers, saved beforehand\n"
    "                       (preview never fetches it)\n"
    "  --sync-state FILE    for a payload whose form says sync: changes or audience (or a\n"
    "                       route that does): compare with the schedule's baseline in this\n"
    "                       spool file (read only) and print what the run would send; without\n"
    "                       it, the run is compared with an empty baseline (a first run)\n"
    "  --instance NAME      the X-Looker-Instance the baseline belongs to (default: none)\n";

// How much of the body an execute reads (and decodes) at a time.
constexpr std::size_t kReadChunk = core::kAttachmentReadChunk;

struct PreviewArgs {
    std::string config_file;
    std::optional<core::MappingMode> mode;
    std::optional<core::CallType> call;
    std::optional<std::string> event;
    std::optional<core::ResultFormat> format;
    std::string webhook;
    std::string webhook_id;
    std::string result_file;
    std::string sync_state;
    std::string instance;
    std::string action = "segment_event";
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
            out.action = v;
            if (!out.call) return "unknown action " + v;
        } else if (a == "--event") {
            if (!value(v)) return "--event needs a name";
            out.event = v;
        } else if (a == "--format") {
            if (!value(v)) return "--format needs a format";
            out.format = core::parse_result_format(v);
            if (!out.format) return "unknown format " + v;
        } else if (a == "--webhook") {
            if (!value(out.webhook)) return "--webhook needs a route name";
        } else if (a == "--webhook-id") {
            if (!value(out.webhook_id)) return "--webhook-id needs an id";
        } else if (a == "--result") {
            if (!value(out.result_file)) return "--result needs a file";
        } else if (a == "--sync-state") {
            if (!value(out.sync_state)) return "--sync-state needs a spool file";
        } else if (a == "--instance") {
            if (!value(out.instance)) return "--instance needs a name";
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
    if (out.call && !out.webhook.empty()) return "--action and --webhook exclude each other";
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

bool starts_an_object(std::string_view text) {
    const auto first = text.find_first_not_of(" \t\r\n");
    return first != std::string_view::npos && text[first] == '{';
}

// A payload `serve` would refuse: its text, as `serve` answers it.
int refuse(const std::string& text) {
    std::cerr << "error: " << text << "\n";
    return 1;
}

// `failure`: why the input ended early (the rows before it are mapped, a cut last row is
// not), as an execute reports it.
int map_and_print(const core::MapperOptions& options, core::ResultFormat format, std::string_view results,
                  std::size_t max_reasons, const std::string& failure, SyncPreview* sync = nullptr) {
    PrintingSink printing;
    core::EventSink& sink = sync ? static_cast<core::EventSink&>(*sync) : printing;
    core::ResultMapper mapper(options, format, sink);
    constexpr std::size_t kChunk = 64 * 1024;
    std::error_code ec;
    for (std::size_t i = 0; i < results.size() && !ec; i += kChunk)
        ec = mapper.feed(results.substr(i, kChunk));
    if (!ec && failure.empty()) ec = mapper.finish();
    std::fflush(stdout);
    const auto& summary = mapper.summary();
    for (const std::string& w : summary.warnings) std::cerr << "warning: " << w << "\n";
    std::cerr << "summary: " << summary.message(max_reasons) << "\n";
    if (sync) {
        const int code = sync->finish(!ec && failure.empty(), summary);
        if (code != 0 || (!ec && failure.empty())) return code;
    }
    if (ec || !failure.empty()) {
        // The message an execute of the same result would answer (nothing is spooled here:
        // the count is of the events printed before the failure).
        return refuse(core::ExecuteAnswer::failure_message(failure.empty() ? mapper.error_message() : failure,
                                                           summary.accepted));
    }
    return 0;
}

// The result an execute would read (attachment.data decoded, or the saved download body),
// or the exit code of a refusal. `origin` says where it came from; `failure`, why the
// attachment's data ended early (what was decoded before is still mapped, as an execute does).
std::optional<int> payload_result(const PreviewArgs& a, const config::Config& cfg,
                                  const core::ExecuteRequest& request, std::string_view input,
                                  std::string& results, core::ResultOrigin& origin, std::string& failure) {
    const core::AttachmentInfo& att = request.attachment;
    if (!request.plan.download_url.empty()) {
        // The download rules `serve` applies before it fetches anything.
        std::string error;
        if (!core::DownloadUrl::check(request.plan.download_url, cfg.hub.download.allowed_hosts,
                                      cfg.hub.download.allow_loopback_http, error))
            return refuse(core::ExecuteAnswer::failure_message(error, 0));
        if (a.result_file.empty()) {
            std::cerr << "preview: the payload names a download_url; preview does not fetch it. Save "
                         "the result and pass it with --result FILE.\n";
            return 1;
        }
        if (!read_input(a.result_file, results)) {
            std::cerr << "preview: cannot read " << a.result_file << "\n";
            return 1;
        }
        return std::nullopt;
    }
    if (auto why = core::unreadable_attachment(att.mimetype, att.extension))
        return refuse(core::ExecuteAnswer::failure_message(*why, 0));
    // Decoded as an execute reads the body: in chunks of kReadChunk, the output of a chunk that
    // fails to decode dropped whole.
    core::AttachmentDecoder decoder(att.kind, att.base64());
    const std::string_view raw = input.substr(att.data_begin, att.data_end - att.data_begin);
    std::string out;
    std::error_code ec;
    for (std::size_t off = 0; off < raw.size() && !ec; off += kReadChunk) {
        out.clear();
        ec = decoder.feed(raw.substr(off, kReadChunk), out);
        if (!ec) results += out;
    }
    if (!ec) {
        out.clear();
        ec = decoder.finish(out);
        if (!ec) results += out;
    }
    if (ec) failure = "The attachment could not be decoded: " + ec.message() + ".";
    origin.inline_attachment = true;
    origin.mimetype = att.mimetype;
    origin.extension = att.extension;
    return std::nullopt;
}

// The checks `serve` makes before it reads any row, in its order, and the options they
// settle. An Action API execute: the hub's type, params and data checks (the write key param
// is not required when the config names a default write key). A plain webhook: any type,
// no params; the route gives the call, the event, the write key and the identity columns.
// Returns the exit code of a refusal.
std::optional<int> accept_request(const PreviewArgs& a, const config::Config& cfg,
                                  const config::WebhookRoute* route, const core::ExecuteRequest& request,
                                  core::MapperOptions& options, std::string& write_key) {
    core::ExecuteRequirements requirements;
    std::string event;
    if (route) {
        requirements.supported_types = {request.type.empty() ? std::string("query") : request.type};
        requirements.required_params.clear();
        core::ExecuteRequest typed = request;
        typed.type_present = true;
        typed.type = requirements.supported_types.front();
        if (auto problem = core::ExecuteRequestValidator::check(typed, requirements)) return refuse(*problem);
        write_key = route->write_key;
        event = route->event;
        options.call = core::parse_call_type(route->call).value_or(core::CallType::identify);
        const core::IdentityColumns& id = route->identity;
        if (!id.user_id.empty() || !id.anonymous_id.empty() || !id.email.empty() || !id.group_id.empty())
            options.mapping.identity = id;
    } else {
        if (!cfg.segment.default_write_key.empty()) requirements.required_params.clear();
        if (auto problem = core::ExecuteRequestValidator::check(request, requirements))
            return refuse(*problem);
        auto key = request.params.find(std::string(core::ActionCatalog::write_key_param));
        if (key != request.params.end()) write_key = key->second;
        auto form_event = request.form_params.find("event");
        if (form_event != request.form_params.end()) event = form_event->second;
    }
    if (write_key.empty()) write_key = cfg.segment.default_write_key;
    if (write_key.empty())
        return refuse(core::ExecuteRequestValidator::missing_setting(core::ActionCatalog::write_key_label));
    if (auto problem = core::WriteKeyRule::problem(write_key)) return refuse(*problem);
    options.hidden_fields = request.plan.hidden_fields;
    options.plan_id = request.plan.scheduled_plan_id;
    options.event = a.event.value_or(event);
    return std::nullopt;
}

}  // namespace

int run_preview(const std::vector<std::string>& args) {
    PreviewArgs a;
    if (std::string problem = parse_args(args, a); !problem.empty())
        return usage(problem == "help" ? std::string() : problem);

    // The configuration `serve` would run with: the file, or the embedded defaults.
    const config::LoadResult loaded = a.config_file.empty() ? config::ConfigLoader::defaults()
                                                            : config::ConfigLoader::load_file(a.config_file);
    if (!loaded.ok()) {
        for (const auto& p : loaded.problems) std::cerr << p.to_string() << "\n";
        return 1;
    }
    const config::Config& cfg = loaded.config;
    core::MapperOptions options;
    options.mapping = cfg.mapping;
    options.max_event_bytes = cfg.segment.max_event_bytes;
    if (a.mode) options.mapping.mode = *a.mode;
    options.call = a.call.value_or(core::CallType::identify);
    options.run_id = a.webhook_id;  // serve: the X-Looker-Webhook-Id header, empty without one
    options.received_at_ms = core::Clock::system().unix_ms();
    const std::size_t max_reasons = options.mapping.max_reasons_reported;

    std::string input;
    if (!read_input(a.input, input)) {
        std::cerr << "preview: cannot read " << a.input << "\n";
        return 1;
    }

    core::ExecutePayloadScanner scanner;
    const bool parsed = !scanner.feed(input) && !scanner.finish();
    const core::ExecuteRequest& request = scanner.request();
    if (!parsed && starts_an_object(input)) {
        // A JSON object that is not valid JSON (or nests too deep): `serve` refuses the body
        // with the scanner's text, whatever it was meant to be.
        return refuse(scanner.error_message().empty() ? std::string("Request body must be valid JSON.")
                                                      : scanner.error_message());
    }
    if (!parsed || !looks_like_payload(request)) {  // a bare result file
        options.event = a.event.value_or("");
        core::ResultOrigin bare;
        bare.action_api = false;
        return map_and_print(options,
                             a.format.value_or(core::choose_result_format(
                                 bare, std::string_view(input).substr(0, core::kFormatSniffBytes))),
                             input, max_reasons, {});
    }

    const config::WebhookRoute* route = nullptr;
    if (!a.webhook.empty()) {
        for (const auto& r : cfg.webhooks)
            if (r.name == a.webhook || r.path == a.webhook) route = &r;
        if (!route) {
            std::cerr << "preview: no webhook route " << a.webhook << " in the configuration\n";
            return 1;
        }
    }
    std::string write_key;
    if (auto refused = accept_request(a, cfg, route, request, options, write_key)) return *refused;
    // Cohort sync: the form's settings (a route's keys), against the baseline of --sync-state.
    std::map<std::string, std::string> route_params;
    if (route) {
        route_params = {{"sync", route->sync},
                        {"audience_key", route->audience_key},
                        {"audience_events", route->audience_events},
                        {"resync", route->resync ? "yes" : "no"},
                        {"allow_mass_exit", route->allow_mass_exit ? "yes" : "no"}};
    }
    SyncPreview::Input sync_in;
    sync_in.params = route ? &route_params : &request.form_params;
    sync_in.plan_id = request.plan.scheduled_plan_id;
    sync_in.title = request.plan.title;
    sync_in.action = route ? "webhook:" + (route->name.empty() ? route->path : route->name) : a.action;
    sync_in.write_key = write_key;
    sync_in.instance = a.instance;
    sync_in.sync_state = a.sync_state;
    sync_in.now_ms = options.received_at_ms;
    int sync_exit = 0;
    auto sync = SyncPreview::open(cfg, sync_in, sync_exit);
    if (sync_exit != 0) return sync_exit;

    std::string results;
    core::ResultOrigin origin;
    origin.action_api = route == nullptr;
    std::string failure;
    if (auto refused = payload_result(a, cfg, request, input, results, origin, failure)) return *refused;
    // The execute path's decision (core::choose_result_format), unless --format says otherwise.
    const core::ResultFormat format = a.format.value_or(
        core::choose_result_format(origin, std::string_view(results).substr(0, core::kFormatSniffBytes)));
    return map_and_print(options, format, results, max_reasons, failure, sync.get());
}

}  // namespace lsr::app
