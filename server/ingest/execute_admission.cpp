#include "server/ingest/execute_admission.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "core/core_error.hpp"
#include "core/delivery/write_key_rule.hpp"
#include "core/hub/action_catalog.hpp"
#include "core/hub/execute_report.hpp"
#include "core/hub/execute_request_validator.hpp"
#include "core/mapping/result_format.hpp"

namespace lsr::server {

namespace {
constexpr std::size_t kReadChunk = 1 << 20;
}  // namespace

std::optional<ExecuteAdmission::Refused> ExecuteAdmission::scan(const std::string& body,
                                                                const std::string& body_file,
                                                                core::ExecutePayloadScanner& scanner) {
    std::error_code ec;
    if (body_file.empty()) {
        ec = scanner.feed(body);
    } else {
        int fd = ::open(body_file.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) return Refused{500, std::string(core::ExecuteReport::kInternalError), {}, true};
        std::string buf(kReadChunk, '\0');
        while (!ec) {
            ssize_t n = ::read(fd, buf.data(), buf.size());
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) break;
            ec = scanner.feed(std::string_view(buf.data(), static_cast<std::size_t>(n)));
        }
        ::close(fd);
    }
    if (!ec) ec = scanner.finish();
    if (!ec) return std::nullopt;
    std::string msg =
        scanner.error_message().empty() ? "Request body must be valid JSON." : scanner.error_message();
    // Nesting beyond core::kMaxJsonDepth is a bad request, not a hub validation text.
    return Refused{ec == core::CoreError::too_deep ? 400 : 404, std::move(msg), {}, false};
}

std::variant<ExecuteAdmission::Admitted, ExecuteAdmission::Refused> ExecuteAdmission::check(
    const std::string& body, const std::string& body_file, const ExecuteSource& source,
    const std::string& default_write_key) {
    core::ExecutePayloadScanner scanner;
    if (auto refused = scan(body, body_file, scanner)) return std::move(*refused);
    Admitted run;
    run.request = scanner.request();
    const core::ExecuteRequest& request = run.request;
    // The write key param is required only when the config has no default write key.
    core::ExecuteRequirements requirements;
    if (!default_write_key.empty()) requirements.required_params.clear();
    if (source.webhook) {
        requirements.supported_types = {request.type.empty() ? std::string("query") : request.type};
        requirements.required_params.clear();
        core::ExecuteRequest typed = request;
        typed.type_present = true;
        typed.type = requirements.supported_types.front();
        if (auto problem = core::ExecuteRequestValidator::check(typed, requirements))
            return Refused{404, std::move(*problem), {}, false};
        run.write_key = source.write_key.empty() ? default_write_key : source.write_key;
    } else {
        if (auto problem = core::ExecuteRequestValidator::check(request, requirements))
            return Refused{404, std::move(*problem), {}, false};
        auto it = request.params.find(std::string(core::ActionCatalog::write_key_param));
        run.write_key = it != request.params.end() ? it->second : std::string();
        if (run.write_key.empty()) run.write_key = default_write_key;
    }
    if (run.write_key.empty()) {
        return Refused{404,
                       core::ExecuteRequestValidator::missing_setting(core::ActionCatalog::write_key_label),
                       {},
                       false};
    }
    if (auto problem = core::WriteKeyRule::problem(run.write_key))
        return Refused{400, std::move(*problem), std::string(core::ActionCatalog::write_key_param), false};
    if (request.plan.download_url.empty()) {
        const auto& a = request.attachment;
        run.unreadable = core::unreadable_attachment(a.mimetype, a.extension);
    }
    return run;
}

}  // namespace lsr::server
