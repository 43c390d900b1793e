// GCC 12 reports a false "potential null pointer dereference" inside Asio's executor
// comparison (any_executor::equal_ex); the pragma must precede the includes to reach it.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wnull-dereference"
#endif

#include "server/delivery/spool_worker.hpp"

#include "server/net/logger.hpp"

namespace lsr::server {

SpoolWorker::SpoolWorker(Strand strand, Logger& log)
    : strand_(std::move(strand)), log_(log), pool_(std::make_unique<boost::asio::thread_pool>(1)) {}

SpoolWorker::~SpoolWorker() {
    close();
}

void SpoolWorker::close() {
    {
        std::lock_guard lock(mu_);
        closed_ = true;
    }
    pool_->stop();
    pool_->join();
}

void SpoolWorker::log_exception(const char* where, const char* what) noexcept {
    try {
        log_.error("unexpected exception in delivery; carrying on", {{"where", where}, {"error", what}});
    } catch (...) {  // NOLINT(bugprone-empty-catch): nothing left to report with
    }
}

}  // namespace lsr::server
