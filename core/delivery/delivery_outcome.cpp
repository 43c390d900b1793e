#include "core/delivery/delivery_outcome.hpp"

namespace lsr::core {

std::string_view to_string(DeliveryAction action) {
    switch (action) {
        case DeliveryAction::done:
            return "done";
        case DeliveryAction::retry:
            return "retry";
        case DeliveryAction::split:
            return "split";
        case DeliveryAction::dead_letter:
            return "dead_letter";
    }
    return "unknown";
}

DeliveryAction DeliveryOutcome::classify(int status, std::uint32_t events) {
    if (status >= 200 && status <= 299) {
        return DeliveryAction::done;
    }
    if (status == 400 || status == 413) {
        return events > 1 ? DeliveryAction::split : DeliveryAction::dead_letter;
    }
    if (status == 408 || status == 410 || status == 429 || status == 460) {
        return DeliveryAction::retry;
    }
    if (status >= 400 && status <= 499) {
        return DeliveryAction::dead_letter;
    }
    if (status == 501 || status == 505) {
        return DeliveryAction::dead_letter;
    }
    // 0 (no answer), 1xx, 3xx, 5xx, and anything outside the defined classes.
    return DeliveryAction::retry;
}

std::string_view DeliveryOutcome::status_class(int status) {
    if (status == 0) {
        return "network";
    }
    switch (status / 100) {
        case 1:
            return "1xx";
        case 2:
            return "2xx";
        case 3:
            return "3xx";
        case 4:
            return "4xx";
        case 5:
            return "5xx";
        default:
            return "other";
    }
}

std::string DeliveryOutcome::reason(int status, std::string_view detail) {
    if (status == 0) {
        std::string r = "network";
        if (!detail.empty()) {
            r += ": ";
            r += detail;
        }
        return r;
    }
    std::string r = "http_" + std::to_string(status);
    if (!detail.empty()) {
        r += ": ";
        r += detail;
    }
    return r;
}

}  // namespace lsr::core
