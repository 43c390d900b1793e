#include "server/net/termination_signals.hpp"

#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <boost/asio/buffer.hpp>
#include <cerrno>
#include <memory>

namespace lsr::server {

namespace {

sigset_t termination_set() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    return set;
}

}  // namespace

struct TerminationSignals::Buffer {
    signalfd_siginfo info{};
};

void TerminationSignals::block() {
    const sigset_t set = termination_set();
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

TerminationSignals::TerminationSignals(boost::asio::io_context& io, std::error_code& ec)
    : fd_(io), buffer_(std::make_unique<Buffer>()) {
    block();
    const sigset_t set = termination_set();
    const int fd = ::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd < 0) {
        ec = std::error_code(errno, std::generic_category());
        return;
    }
    boost::system::error_code aec;
    fd_.assign(fd, aec);
    if (aec) {
        ::close(fd);
        ec = std::error_code(aec.value(), std::generic_category());
    }
}

TerminationSignals::~TerminationSignals() = default;

void TerminationSignals::async_wait(Handler handler) {
    // One signalfd_siginfo per signal: a read of its size takes exactly one.
    fd_.async_read_some(
        boost::asio::buffer(&buffer_->info, sizeof(buffer_->info)),
        [this, handler = std::move(handler)](const boost::system::error_code& ec, std::size_t n) {
            if (ec) return handler(ec, 0);
            if (n != sizeof(buffer_->info)) return async_wait(handler);
            handler(ec, static_cast<int>(buffer_->info.ssi_signo));
        });
}

void TerminationSignals::cancel() {
    boost::system::error_code ignored;
    fd_.cancel(ignored);
}

}  // namespace lsr::server
