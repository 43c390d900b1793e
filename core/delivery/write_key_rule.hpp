// What the relay accepts as a Segment write key. A key Segment could never accept (it is
// sent as the Basic-auth user name and in every batch body) is refused where it enters the
// relay: an execute's `segment_write_key`, a webhook route's key, the config; never
// spooled, so no stored batch can fail for its key alone.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace lsr::core {

class WriteKeyRule {
  public:
    // Segment's write keys are 32 characters or so; anything near this is not a key.
    static constexpr std::size_t kMaxBytes = 1024;

    // nullopt when `key` is acceptable: 1..kMaxBytes bytes of printable ASCII, no
    // whitespace. Otherwise the reason, as a sentence that never quotes the key (a secret).
    static std::optional<std::string> problem(std::string_view key);
};

}  // namespace lsr::core
