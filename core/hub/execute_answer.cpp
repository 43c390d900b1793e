#include "core/hub/execute_answer.hpp"

namespace lsr::core {

std::string ExecuteAnswer::accepted_so_far(std::uint64_t accepted) {
    if (accepted == 0) return " No rows were accepted.";
    return " " + std::to_string(accepted) + (accepted == 1 ? " row was" : " rows were") +
           " accepted before that and will be delivered.";
}

std::string ExecuteAnswer::failure_message(std::string_view error, std::uint64_t accepted) {
    std::string msg = error.empty() ? std::string("The result could not be processed.") : std::string(error);
    if (msg.back() != '.') msg += '.';
    return msg + accepted_so_far(accepted);
}

}  // namespace lsr::core
