#include "core/clock.hpp"

namespace lsr::core {
namespace {

class SystemClock final : public Clock {
  public:
    std::int64_t unix_ms() const override {
        using namespace std::chrono;
        return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
    }
    Steady steady() const override { return std::chrono::steady_clock::now(); }
};

}  // namespace

const Clock& Clock::system() {
    static const SystemClock clock;
    return clock;
}

}  // namespace lsr::core
