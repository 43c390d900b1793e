#include "core/hub/execute_request_validator.hpp"

#include <algorithm>

namespace lsr::core {
namespace {

// "query" or "cell", "dashboard": each quoted, joined by ", ".
std::string type_list(const std::vector<std::string>& types) {
    std::string out;
    for (std::size_t i = 0; i < types.size(); ++i) {
        if (i) out += ", ";
        out += "\"" + types[i] + "\"";
    }
    return out;
}

}  // namespace

std::string ExecuteRequestValidator::missing_setting(std::string_view label) {
    return "Required setting \"" + std::string(label) + "\" not specified in action settings.";
}

std::optional<std::string> ExecuteRequestValidator::check(const ExecuteRequest& request,
                                                          const ExecuteRequirements& requirements) {
    const auto& types = requirements.supported_types;
    if (!request.type_present || request.type.empty())
        return "No request type specified. The request must be of type: " + type_list(types) + ".";
    if (std::find(types.begin(), types.end(), request.type) == types.end())
        return "This action does not support requests of type \"" + request.type +
               "\". The request must be of type: " + type_list(types) + ".";
    for (const auto& [name, label] : requirements.required_params) {
        auto it = request.params.find(name);
        if (it == request.params.end() || it->second.empty()) return missing_setting(label);
    }
    const bool has_attachment =
        request.attachment.present && request.attachment.kind != AttachmentInfo::Kind::none;
    if (requirements.streaming && request.plan.download_url.empty() && !has_attachment)
        return std::string(
            "A streaming action was sent incompatible data. The action must have a download url or an "
            "attachment.");
    return std::nullopt;
}

}  // namespace lsr::core
