// Runs the delivery dispatcher's spool calls on one dedicated thread, never on an io thread:
// a settle is an SQLite commit (with fsync for the durable ones) that can take milliseconds
// on a slow disk and would otherwise stall every socket served by that thread. One thread is
// enough (the Spool serialises on its own mutex anyway) and keeps the calls in order.
//
// Each call's result is handed back on the dispatcher's strand. No exception leaves the spool
// thread: a call that throws is logged and stands for a failed call (an io error_code for a
// write, an empty result for a read). After close() no call runs and no answer comes.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <cstddef>
#include <exception>
#include <memory>
#include <mutex>
#include <system_error>
#include <type_traits>
#include <utility>

#include "server/storage/spool.hpp"

namespace lsr::server {

class Logger;

class SpoolWorker {
  public:
    using Strand = boost::asio::strand<boost::asio::io_context::executor_type>;

    SpoolWorker(Strand strand, Logger& log);
    ~SpoolWorker();
    SpoolWorker(const SpoolWorker&) = delete;
    SpoolWorker& operator=(const SpoolWorker&) = delete;

    // On the strand: runs `work()` on the spool thread, then `then(result)` on the strand.
    // `owner` (the object this worker belongs to) is kept alive until then; `then` should
    // not throw (what it throws is logged).
    template <class Work, class Then>
    void post(std::shared_ptr<const void> owner, Work work, Then then);

    // Calls posted and not answered yet (strand only).
    std::size_t pending() const { return pending_; }
    bool closed() const { return closed_; }
    // Any thread: no call starts from now on; waits for the one under way, if any.
    void close();

  private:
    // What a spool call stands for when it threw: a failed write for the settles, nothing
    // found for the reads.
    template <class R>
    static R failed_call() {
        if constexpr (std::is_same_v<R, std::error_code> || std::is_same_v<R, SpoolError>) {
            return make_error_code(SpoolErrc::io);
        } else {
            return R{};
        }
    }

    void log_exception(const char* where, const char* what) noexcept;

    Strand strand_;
    Logger& log_;
    std::size_t pending_ = 0;
    std::mutex mu_;
    std::unique_ptr<boost::asio::thread_pool> pool_;
    std::atomic<bool> closed_{false};
};

template <class Work, class Then>
void SpoolWorker::post(std::shared_ptr<const void> owner, Work work, Then then) {
    ++pending_;
    std::lock_guard lock(mu_);
    if (closed_) {
        return;
    }
    boost::asio::post(
        *pool_, [this, owner = std::move(owner), work = std::move(work), then = std::move(then)]() mutable {
            if (closed_) {
                return;
            }
            using Result = decltype(work());
            Result result = failed_call<Result>();
            try {
                result = work();
            } catch (const std::exception& e) {
                log_exception("spool call", e.what());
            } catch (...) {
                log_exception("spool call", "unknown exception");
            }
            try {
                boost::asio::post(strand_, [this, owner = std::move(owner), then = std::move(then),
                                            result = std::move(result)]() mutable {
                    --pending_;
                    try {
                        then(std::move(result));
                    } catch (const std::exception& e) {
                        log_exception("spool answer", e.what());
                    } catch (...) {
                        log_exception("spool answer", "unknown exception");
                    }
                });
            } catch (...) {
                log_exception("spool answer", "could not be handed back");
            }
        });
}

}  // namespace lsr::server
