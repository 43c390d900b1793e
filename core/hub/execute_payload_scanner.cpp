#include "core/hub/execute_payload_scanner.hpp"

#include <rapidjson/document.h>

#include "core/core_error.hpp"
#include "core/json_limits.hpp"
#include "core/json_out.hpp"
#include "core/json_span_scanner.hpp"

namespace lsr::core {
namespace {

constexpr const char* kInvalidJson = "Request body must be valid JSON.";
enum Tag { kRoot = 1, kAttachment = 2, kAttachmentData = 3 };

bool ends_with_ci(std::string_view s, std::string_view suffix) {
    if (s.size() < suffix.size()) return false;
    s = s.substr(s.size() - suffix.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        char a = s[i];
        if (a >= 'A' && a <= 'Z') a = static_cast<char>(a - 'A' + 'a');
        if (a != suffix[i]) return false;
    }
    return true;
}

// A member as text: a string as it is, null as nothing, anything else as its JSON (integers
// keep every digit).
std::string to_text(const rapidjson::Value& v) {
    if (v.IsString()) return {v.GetString(), v.GetStringLength()};
    if (v.IsNull()) return {};
    std::string out;
    JsonOut(out).value(v, /*exact_integers=*/true);
    return out;
}

std::string member_text(const rapidjson::Value& obj, const char* name) {
    if (!obj.IsObject()) return {};
    auto it = obj.FindMember(name);
    return it == obj.MemberEnd() ? std::string{} : to_text(it->value);
}

std::map<std::string, std::string> to_map(const rapidjson::Value& v) {
    std::map<std::string, std::string> out;
    if (!v.IsObject()) return out;
    for (const auto& m : v.GetObject()) {
        if (m.value.IsNull()) continue;
        out[std::string(m.name.GetString(), m.name.GetStringLength())] = to_text(m.value);
    }
    return out;
}

ScheduledPlan to_plan(const rapidjson::Value& v) {
    ScheduledPlan plan;
    if (!v.IsObject()) return plan;
    plan.present = true;
    plan.scheduled_plan_id = member_text(v, "scheduled_plan_id");
    plan.title = member_text(v, "title");
    plan.type = member_text(v, "type");
    plan.url = member_text(v, "url");
    plan.query_id = member_text(v, "query_id");
    plan.download_url = member_text(v, "download_url");
    auto query = v.FindMember("query");
    if (query == v.MemberEnd() || !query->value.IsObject()) return plan;
    auto vis = query->value.FindMember("vis_config");
    if (vis == query->value.MemberEnd() || !vis->value.IsObject()) return plan;
    auto hidden = vis->value.FindMember("hidden_fields");
    if (hidden == vis->value.MemberEnd() || !hidden->value.IsArray()) return plan;
    for (const auto& h : hidden->value.GetArray())
        if (h.IsString()) plan.hidden_fields.emplace_back(h.GetString(), h.GetStringLength());
    return plan;
}

}  // namespace

bool AttachmentInfo::base64() const {
    return ends_with_ci(mimetype, ";base64");
}

class ExecutePayloadScanner::Impl final : public JsonSpanScanner::Handler {
  public:
    explicit Impl(std::size_t max_envelope) : remaining_(max_envelope), scanner_(*this) {}

    std::error_code feed(std::string_view chunk) { return fail(scanner_.feed(chunk)); }
    std::error_code finish() {
        if (auto ec = scanner_.finish()) return fail(ec);
        if (not_object_) return fail(CoreError::invalid_json);
        return {};
    }

    ExecuteRequest request;
    std::string error;

  private:
    using Action = JsonSpanScanner::Action;

    std::error_code fail(std::error_code ec) {
        if (ec && error.empty()) {
            if (ec == CoreError::too_large) {
                error = "Request envelope is larger than the configured limit.";
            } else if (ec == CoreError::too_deep) {
                error = "Request body is nested more than " + std::to_string(kMaxJsonDepth) + " levels deep.";
            } else {
                error = kInvalidJson;
            }
        }
        return ec;
    }

    JsonSpanScanner::Decision on_value_start(const JsonSpanScanner::ValueStart& s) override {
        if (s.depth == 0) {
            not_object_ = s.first != '{';
            if (not_object_) return {};
            return {Action::descend, kRoot};
        }
        if (s.depth == 1) {
            if (s.key == "attachment" && s.first == '{') return {Action::descend, kAttachment};
            field_ = s.key;
            return {Action::capture, kRoot, remaining_};
        }
        if (s.depth == 2 && s.parent_tag == kAttachment) {
            field_ = s.key;
            if (s.key == "data") {
                request.attachment.kind = s.first == '"'   ? AttachmentInfo::Kind::string
                                          : s.first == '{' ? AttachmentInfo::Kind::object
                                          : s.first == '[' ? AttachmentInfo::Kind::array
                                                           : AttachmentInfo::Kind::none;
                return {Action::stream, kAttachmentData};  // only its span matters
            }
            return {Action::capture, kAttachment, remaining_};
        }
        return {};
    }

    std::error_code on_value_end(std::string_view captured, std::uint64_t begin, std::uint64_t end,
                                 int tag) override {
        if (tag == kAttachmentData) {
            request.attachment.data_begin = begin;
            request.attachment.data_end = end;
            return {};
        }
        if (captured.empty()) {  // a descended container closed
            if (tag == kAttachment) request.attachment.present = true;
            return {};
        }
        remaining_ -= captured.size();
        doc_.Parse(captured.data(), captured.size());
        if (doc_.HasParseError()) return CoreError::invalid_json;
        if (tag == kRoot) {
            store_root(doc_);
        } else if (tag == kAttachment) {
            store_attachment(doc_);
        }
        return {};
    }

    void store_root(const rapidjson::Value& v) {
        if (field_ == "type") {
            request.type_present = v.IsString();
            request.type = v.IsString() ? to_text(v) : std::string{};
        } else if (field_ == "scheduled_plan") {
            request.plan = to_plan(v);
        } else if (field_ == "data") {
            request.params = to_map(v);
        } else if (field_ == "form_params") {
            request.form_params = to_map(v);
        } else if (field_ == "state") {
            request.state = to_text(v);
        }
    }

    void store_attachment(const rapidjson::Value& v) {
        if (field_ == "mimetype") request.attachment.mimetype = to_text(v);
        if (field_ == "extension") request.attachment.extension = to_text(v);
    }

    std::size_t remaining_;
    bool not_object_ = false;
    std::string field_;
    rapidjson::Document doc_;
    JsonSpanScanner scanner_;
};

ExecutePayloadScanner::ExecutePayloadScanner(std::size_t max_envelope_bytes)
    : impl_(std::make_unique<Impl>(max_envelope_bytes)) {}
ExecutePayloadScanner::~ExecutePayloadScanner() = default;

std::error_code ExecutePayloadScanner::feed(std::string_view chunk) {
    return impl_->feed(chunk);
}
std::error_code ExecutePayloadScanner::finish() {
    return impl_->finish();
}
const ExecuteRequest& ExecutePayloadScanner::request() const {
    return impl_->request;
}
const std::string& ExecutePayloadScanner::error_message() const {
    return impl_->error;
}

}  // namespace lsr::core
