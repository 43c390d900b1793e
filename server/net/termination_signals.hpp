// SIGTERM and SIGINT, read from a signalfd on an io_context.
//
// The signals are blocked in the thread that calls block() (the main thread, before it starts
// any other), so every thread started afterwards inherits the mask and the kernel never runs
// a handler on an arbitrary thread: the signals stay pending for the process until this
// reader takes them. Nothing is lost in between (a signal sent during start-up is read as
// soon as the reader waits), and no code runs in a signal handler.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <functional>
#include <system_error>

namespace lsr::server {

class TerminationSignals {
  public:
    using Handler = std::function<void(const boost::system::error_code&, int signo)>;

    // Blocks SIGTERM and SIGINT in the calling thread (and so in every thread it starts).
    static void block();

    // Blocks the signals too (see block()) and opens the signalfd; `ec` says why it could not.
    TerminationSignals(boost::asio::io_context& io, std::error_code& ec);
    ~TerminationSignals();
    TerminationSignals(const TerminationSignals&) = delete;
    TerminationSignals& operator=(const TerminationSignals&) = delete;

    // Calls `handler` once, with the next signal's number (or operation_aborted after cancel()).
    void async_wait(Handler handler);
    void cancel();

  private:
    boost::asio::posix::stream_descriptor fd_;
    struct Buffer;
    std::unique_ptr<Buffer> buffer_;
};

}  // namespace lsr::server
