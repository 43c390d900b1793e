// Execute payloads: the scanner must never crash, must give the same request however the
// body is split, and the attachment span it reports must decode and map without harm.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/hub/execute_payload_scanner.hpp"
#include "core/mapping/attachment_decoder.hpp"
#include "core/mapping/result_mapper.hpp"

namespace {

struct NullSink final : lsr::core::EventSink {
    void on_event(const lsr::core::MappedEvent&) override {}
    void on_reject(const lsr::core::RowReject&) override {}
};

bool scan(std::string_view body, std::size_t chunk, lsr::core::ExecuteRequest& out) {
    lsr::core::ExecutePayloadScanner scanner(4096);
    std::error_code ec;
    for (std::size_t i = 0; i < body.size() && !ec; i += chunk) ec = scanner.feed(body.substr(i, chunk));
    if (!ec) ec = scanner.finish();
    out = scanner.request();
    if (ec && scanner.error_message().empty()) std::abort();  // every failure has a text
    return !ec;
}

void check_same(const lsr::core::ExecuteRequest& a, const lsr::core::ExecuteRequest& b) {
    if (a.type != b.type || a.params != b.params || a.form_params != b.form_params || a.state != b.state ||
        a.plan.scheduled_plan_id != b.plan.scheduled_plan_id ||
        a.plan.hidden_fields != b.plan.hidden_fields || a.attachment.data_begin != b.attachment.data_begin ||
        a.attachment.data_end != b.attachment.data_end || a.attachment.mimetype != b.attachment.mimetype)
        std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    const std::size_t chunk = 1 + data[0] % 13;
    const std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
    lsr::core::ExecuteRequest whole, split;
    const bool ok_whole = scan(body, body.size() + 1, whole);
    const bool ok_split = scan(body, chunk, split);
    if (ok_whole != ok_split) std::abort();
    if (!ok_whole) return 0;
    check_same(whole, split);
    const auto& a = whole.attachment;
    if (a.kind == lsr::core::AttachmentInfo::Kind::none) return 0;
    if (a.data_begin > a.data_end || a.data_end > body.size()) std::abort();
    lsr::core::AttachmentDecoder decoder(a.kind, a.base64());
    std::string decoded;
    const std::string_view raw = body.substr(a.data_begin, a.data_end - a.data_begin);
    for (std::size_t i = 0; i < raw.size(); i += chunk) {
        if (decoder.feed(raw.substr(i, chunk), decoded)) return 0;
    }
    if (decoder.finish(decoded)) return 0;
    NullSink sink;
    lsr::core::MapperOptions options;
    options.uuid_source = [] { return std::string("00000000-0000-4000-8000-000000000000"); };
    lsr::core::ResultMapper mapper(options, lsr::core::sniff_result_format(decoded), sink);
    if (!mapper.feed(decoded)) (void)mapper.finish();
    return 0;
}
