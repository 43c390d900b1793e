// The service's one clock: wall time in Unix milliseconds (what is stored in the spool,
// written in events and shown to operators) and monotonic time (what deadlines and
// durations use). Parts that read the time are handed a Clock, so tests can set it
// (ManualClock); the service passes Clock::system().
#pragma once

#include <chrono>
#include <cstdint>

namespace lsr::core {

class Clock {
  public:
    using Steady = std::chrono::steady_clock::time_point;

    virtual ~Clock() = default;
    virtual std::int64_t unix_ms() const = 0;  // milliseconds since 1970-01-01T00:00:00Z
    virtual Steady steady() const = 0;         // never goes back; for deadlines only

    static const Clock& system();  // the machine's clocks
};

}  // namespace lsr::core
