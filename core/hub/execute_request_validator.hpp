// The public hub's checks on an execute request, in its order and with its texts
// (reference §1.3): the request type, then the required params, then that a streaming
// action got a download_url or an attachment. Each failure is a 404 before any byte of
// the answer is sent.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/hub/execute_payload_scanner.hpp"

namespace lsr::core {

struct ExecuteRequirements {
    std::vector<std::string> supported_types = {"query"};
    // name, label: the label is what the hub's message shows.
    std::vector<std::pair<std::string, std::string>> required_params = {
        {"segment_write_key", "Segment Write Key"}};
    bool streaming = true;  // every Segment action streams
};

class ExecuteRequestValidator {
  public:
    // The first problem's text, or nullopt when the request may run.
    static std::optional<std::string> check(const ExecuteRequest& request,
                                            const ExecuteRequirements& requirements = {});
    // "Required setting \"<label>\" not specified in action settings."
    static std::string missing_setting(std::string_view label);
};

}  // namespace lsr::core
