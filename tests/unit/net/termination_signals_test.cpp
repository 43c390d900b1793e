#include "server/net/termination_signals.hpp"

#include <pthread.h>
#include <signal.h>

#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <vector>

namespace {

// Restores the calling thread's signal mask when the test ends.
class MaskRestorer {
  public:
    MaskRestorer() { pthread_sigmask(SIG_SETMASK, nullptr, &saved_); }
    ~MaskRestorer() { pthread_sigmask(SIG_SETMASK, &saved_, nullptr); }

  private:
    sigset_t saved_{};
};

bool blocked_here(int signo) {
    sigset_t now;
    pthread_sigmask(SIG_SETMASK, nullptr, &now);
    return sigismember(&now, signo) == 1;
}

}  // namespace

TEST_CASE("TerminationSignals reads SIGTERM and SIGINT in order, sent before and after it waits",
          "[termination_signals]") {
    MaskRestorer restore;
    boost::asio::io_context io;
    std::error_code ec;
    lsr::server::TerminationSignals signals(io, ec);
    REQUIRE_FALSE(ec);
    CHECK(blocked_here(SIGTERM));
    CHECK(blocked_here(SIGINT));

    // Sent to this thread, where it is blocked: it stays pending until the read takes it.
    pthread_kill(pthread_self(), SIGTERM);
    std::vector<int> seen;
    std::function<void(const boost::system::error_code&, int)> on_signal =
        [&](const boost::system::error_code& e, int signo) {
            if (e) return;
            seen.push_back(signo);
            if (seen.size() == 1) {
                pthread_kill(pthread_self(), SIGINT);
                signals.async_wait(on_signal);
            }
        };
    signals.async_wait(on_signal);
    io.run_for(std::chrono::seconds(5));
    CHECK(seen == std::vector<int>{SIGTERM, SIGINT});
}

TEST_CASE("TerminationSignals' wait ends with operation_aborted on cancel", "[termination_signals]") {
    MaskRestorer restore;
    boost::asio::io_context io;
    std::error_code ec;
    lsr::server::TerminationSignals signals(io, ec);
    REQUIRE_FALSE(ec);
    boost::system::error_code got;
    bool called = false;
    signals.async_wait([&](const boost::system::error_code& e, int) {
        called = true;
        got = e;
    });
    signals.cancel();
    io.run_for(std::chrono::seconds(5));
    CHECK(called);
    CHECK(got == boost::asio::error::operation_aborted);
}
