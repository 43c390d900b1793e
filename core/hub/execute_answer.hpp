// The texts of an execute's answer that `serve` and `preview` share, so both say the same
// thing about the same result (in hub mode, the hub's texts first).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace lsr::core {

class ExecuteAnswer {
  public:
    // " N rows were accepted before that and will be delivered." or " No rows were accepted."
    static std::string accepted_so_far(std::uint64_t accepted);
    // The message of a run that failed: the reader's or mapper's error (the hub's text in hub
    // mode), ending with a full stop, then accepted_so_far. An empty error gives a generic one.
    static std::string failure_message(std::string_view error, std::uint64_t accepted);
};

}  // namespace lsr::core
