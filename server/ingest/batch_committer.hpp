// Appends an execute's completed batches to the spool. Batches are committed a few at a
// time (one transaction, one fsync), so a large result does not pay a disk sync per 2,500
// events; the execute answers only after the last commit(). When the spool refuses a group
// for room (full, low disk space), what still fits is taken one batch at a time, so the
// count of accepted events is exact. After each commit that spooled something, `spooled`
// is called (delivery looks at the write key now). The first error stops it for good.
// A batch whose /v1/batch envelope would exceed segment.gzip_min_bytes is deflated here, once,
// at segment.gzip_level (0: never), and stored compressed (core::StoredBody): delivery sends
// it without compressing again. The plain body's memory goes back to the BatchBuilder.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "config/config.hpp"
#include "core/clock.hpp"
#include "core/delivery/batch_builder.hpp"
#include "core/delivery/body_compressor.hpp"
#include "server/storage/spool.hpp"

namespace lsr::server {

class BatchCommitter {
  public:
    static constexpr std::size_t kBatchesPerCommit = 8;
    static constexpr std::size_t kBytesPerCommit = 4 << 20;

    // `builder` (may be null) gets each batch's plain body back once it is no longer needed.
    BatchCommitter(Spool& spool, const core::Clock& clock, std::string request_id,
                   std::function<void(const std::string& write_key)> spooled,
                   const config::SegmentConfig& segment, core::BatchBuilder* builder);

    void set_write_key(std::string write_key) { write_key_ = std::move(write_key); }
    const std::string& write_key() const { return write_key_; }
    // A sync run's batches: stored held (NewBatch::held, never leased until the run commits),
    // their ids kept (held_ids()), and delivery is not told (nothing is due yet).
    void set_held(bool held) { held_ = held; }
    const std::vector<std::int64_t>& held_ids() const { return held_ids_; }

    // Queues a batch; commits when enough are pending. The error of a failed commit.
    SpoolError append(core::Batch batch);
    // Commits what is pending.
    SpoolError commit();

    const SpoolError& error() const { return error_; }
    std::uint64_t events() const { return events_; }    // spooled events
    std::uint64_t batches() const { return batches_; }  // spooled batches

  private:
    void recycle_pending();

    Spool& spool_;
    const core::Clock& clock_;
    std::string request_id_;
    std::string write_key_;
    std::function<void(const std::string&)> spooled_;
    std::uint32_t gzip_min_bytes_;
    std::uint32_t gzip_level_;                          // 0: never compress
    std::unique_ptr<core::BodyCompressor> compressor_;  // made for the first large batch
    core::BatchBuilder* builder_;
    bool held_ = false;
    std::vector<std::int64_t> held_ids_;
    std::vector<NewBatch> pending_;
    std::size_t pending_bytes_ = 0;
    SpoolError error_;
    std::uint64_t events_ = 0;
    std::uint64_t batches_ = 0;
};

}  // namespace lsr::server
