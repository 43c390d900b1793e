// Push parser over the raw body of an execute request (or a plain Looker webhook body).
// It keeps the small envelope (type, scheduled_plan, data, form_params, state, the
// attachment's mimetype and extension) and only records where attachment.data lies, so
// memory does not depend on the attachment's size. The rows are read later, from that
// byte span, through AttachmentDecoder.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace lsr::core {

struct AttachmentInfo {
    bool present = false;
    std::string mimetype;
    std::string extension;
    enum class Kind { none, string, object, array } kind = Kind::none;
    // Byte offsets in the whole payload of the raw JSON value of attachment.data,
    // quotes included for a string; [data_begin, data_end).
    std::uint64_t data_begin = 0;
    std::uint64_t data_end = 0;
    bool base64() const;  // the mimetype ends with ";base64"
};

struct ScheduledPlan {
    bool present = false;
    std::string scheduled_plan_id;  // numbers become strings
    std::string title;
    std::string type;
    std::string url;
    std::string query_id;
    std::string download_url;
    std::vector<std::string> hidden_fields;  // query.vis_config.hidden_fields
};

struct ExecuteRequest {
    std::string type;
    bool type_present = false;  // a string "type" was given
    ScheduledPlan plan;
    std::map<std::string, std::string> params;  // "data": the admin params
    std::map<std::string, std::string> form_params;
    std::string state;
    AttachmentInfo attachment;
};

class ExecutePayloadScanner {
  public:
    explicit ExecutePayloadScanner(std::size_t max_envelope_bytes = 8 << 20);
    ~ExecutePayloadScanner();
    ExecutePayloadScanner(const ExecutePayloadScanner&) = delete;
    ExecutePayloadScanner& operator=(const ExecutePayloadScanner&) = delete;

    std::error_code feed(std::string_view chunk);
    std::error_code finish();
    const ExecuteRequest& request() const;
    const std::string& error_message() const;  // e.g. "Request body must be valid JSON."

  private:
    class Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace lsr::core
