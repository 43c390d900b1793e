// An execute's checks before any row is read: scan the body (in memory or in the body
// file) with core::ExecutePayloadScanner, validate it in the hub's order and with its texts
// (core::ExecuteRequestValidator), pick and check the write key. A plain webhook carries no
// type or params: its write key comes from the route.
#pragma once

#include <optional>
#include <string>
#include <variant>

#include "core/hub/execute_payload_scanner.hpp"
#include "server/ingest/execute_source.hpp"

namespace lsr::server {

class ExecuteAdmission {
  public:
    // The request may run.
    struct Admitted {
        core::ExecuteRequest request;
        std::string write_key;
        // An inline attachment the mappers cannot read (core::unreadable_attachment): the
        // run fails with this text, as a looker answer.
        std::optional<std::string> unreadable;
    };
    // The request is refused before any work: {"success":false,"error":…} with `status`, or
    // with `invalid_param`, the hub's validation_errors shape.
    struct Refused {
        int status = 404;
        std::string error;
        std::string invalid_param;
        bool unreadable_body = false;  // the body file could not be opened (500)
    };

    static std::variant<Admitted, Refused> check(const std::string& body, const std::string& body_file,
                                                 const ExecuteSource& source,
                                                 const std::string& default_write_key);

  private:
    static std::optional<Refused> scan(const std::string& body, const std::string& body_file,
                                       core::ExecutePayloadScanner& scanner);
};

}  // namespace lsr::server
