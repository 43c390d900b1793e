// Appends an execute's completed batches to the spool. Batches are committed a few at a
// time (one transaction, one fsync), so a large result does not pay a disk sync per 2,500
// events; the execute answers only after the last commit(). When the spool refuses a group
// for room (full, low disk space), what still fits is taken one batch at a time, so the
// count of accepted events is exact. After each commit that spooled something, `spooled`
// is called (delivery looks at the write key now). The first error stops it for good.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <system_error>
#include <vector>

#include "core/clock.hpp"
#include "core/delivery/batch_builder.hpp"
#include "server/storage/spool.hpp"

namespace lsr::server {

class BatchCommitter {
  public:
    static constexpr std::size_t kBatchesPerCommit = 8;
    static constexpr std::size_t kBytesPerCommit = 4 << 20;

    BatchCommitter(Spool& spool, const core::Clock& clock, std::string request_id,
                   std::function<void(const std::string& write_key)> spooled);

    void set_write_key(std::string write_key) { write_key_ = std::move(write_key); }

    // Queues a batch; commits when enough are pending. The error of a failed commit.
    SpoolError append(core::Batch batch);
    // Commits what is pending.
    SpoolError commit();

    const SpoolError& error() const { return error_; }
    std::uint64_t events() const { return events_; }    // spooled events
    std::uint64_t batches() const { return batches_; }  // spooled batches

  private:
    Spool& spool_;
    const core::Clock& clock_;
    std::string request_id_;
    std::string write_key_;
    std::function<void(const std::string&)> spooled_;
    std::vector<NewBatch> pending_;
    std::size_t pending_bytes_ = 0;
    SpoolError error_;
    std::uint64_t events_ = 0;
    std::uint64_t batches_ = 0;
};

}  // namespace lsr::server
