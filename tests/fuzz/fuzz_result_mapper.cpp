// Results in every format and mode: no crash, the same events however the input is split,
// and every accepted event is valid JSON with a userId or anonymousId, within the size limit.
#include <rapidjson/document.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "core/mapping/result_mapper.hpp"

namespace {

struct Sink final : lsr::core::EventSink {
    std::vector<std::string> events;
    std::vector<std::string> rejects;
    void on_event(const lsr::core::MappedEvent& e) override {
        rapidjson::Document doc;
        doc.Parse(e.json.data(), e.json.size());
        if (doc.HasParseError() || !doc.IsObject()) std::abort();
        if (e.json.size() > 32000 || e.message_id.empty() || e.message_id.size() > 100) std::abort();
        events.emplace_back(e.json);
    }
    void on_reject(const lsr::core::RowReject& r) override {
        if (r.reason.empty()) std::abort();
        rejects.push_back(r.reason);
    }
};

struct Outcome {
    Sink sink;
    bool failed = false;
    std::string error;
};

void run(const lsr::core::MapperOptions& options, lsr::core::ResultFormat format, std::string_view text,
         std::size_t chunk, Outcome& out) {
    lsr::core::MapperOptions o = options;
    auto counter = std::make_shared<int>(0);
    o.uuid_source = [counter] { return "uuid-" + std::to_string(++*counter); };
    lsr::core::ResultMapper mapper(o, format, out.sink);
    std::error_code ec;
    for (std::size_t i = 0; i < text.size() && !ec; i += chunk) ec = mapper.feed(text.substr(i, chunk));
    if (!ec) ec = mapper.finish();
    out.failed = static_cast<bool>(ec);
    out.error = mapper.error_message();
    if (out.failed && out.error.empty()) std::abort();
    const auto& s = mapper.summary();
    if (s.accepted + s.rejected != s.rows) std::abort();
    (void)s.message(5);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    const auto formats = {lsr::core::ResultFormat::json_detail, lsr::core::ResultFormat::json,
                          lsr::core::ResultFormat::inline_json, lsr::core::ResultFormat::csv,
                          lsr::core::ResultFormat::txt};
    const auto format = *(formats.begin() + data[0] % formats.size());
    lsr::core::MapperOptions options;
    options.mapping.mode = (data[0] & 0x10) ? lsr::core::MappingMode::hub : lsr::core::MappingMode::standard;
    options.mapping.send_nulls = data[0] & 0x20;
    options.mapping.trait_naming =
        (data[0] & 0x40) ? lsr::core::TraitNaming::label : lsr::core::TraitNaming::short_name;
    options.mapping.destinations = {"zendesk", "amplitude", "totango"};
    options.mapping.disable_unready_destinations = data[0] & 0x80;
    options.mapping.identity.user_id = "id";
    options.mapping.identity.email = "email";
    options.call = static_cast<lsr::core::CallType>(data[1] % 3);
    if (data[1] & 0x10) options.event = "Fuzzed";
    options.max_row_bytes = 1 << 16;
    const std::size_t chunk = 1 + (data[1] >> 5);
    const std::string_view text(reinterpret_cast<const char*>(data + 2), size - 2);
    Outcome whole, split;
    run(options, format, text, text.size() + 1, whole);
    run(options, format, text, chunk, split);
    if (whole.failed != split.failed || whole.sink.events != split.sink.events ||
        whole.sink.rejects != split.sink.rejects)
        std::abort();
    return 0;
}
