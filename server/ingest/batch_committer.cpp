#include "server/ingest/batch_committer.hpp"

#include "core/delivery/batch_envelope.hpp"
#include "core/delivery/stored_body.hpp"

namespace lsr::server {

BatchCommitter::BatchCommitter(Spool& spool, const core::Clock& clock, std::string request_id,
                               std::function<void(const std::string& write_key)> spooled,
                               const config::SegmentConfig& segment, core::BatchBuilder* builder)
    : spool_(spool),
      clock_(clock),
      request_id_(std::move(request_id)),
      spooled_(std::move(spooled)),
      gzip_min_bytes_(segment.gzip_min_bytes),
      gzip_level_(segment.gzip_level),
      builder_(builder) {}

SpoolError BatchCommitter::append(core::Batch batch) {
    if (error_) return error_;
    NewBatch nb;
    nb.write_key = write_key_;
    const bool large =
        gzip_level_ > 0 && core::BatchEnvelope::size(batch.body.size(), write_key_) > gzip_min_bytes_;
    if (large && !compressor_)
        compressor_ = std::make_unique<core::BodyCompressor>(static_cast<int>(gzip_level_));
    if (large && compressor_->store(batch.body, nb.body)) {
        if (builder_) builder_->recycle(std::move(batch.body));
    } else {
        nb.body = std::move(batch.body);
    }
    nb.events = batch.events;
    nb.request_id = request_id_;
    nb.held = held_;
    nb.created_ms = clock_.unix_ms();
    pending_bytes_ += nb.body.size();
    pending_.push_back(std::move(nb));
    if (pending_.size() >= kBatchesPerCommit || pending_bytes_ >= kBytesPerCommit) return commit();
    return {};
}

SpoolError BatchCommitter::commit() {
    if (error_ || pending_.empty()) return error_;
    std::vector<std::int64_t> ids;
    SpoolError ec = spool_.append(pending_, &ids);
    if (ec && (ec == SpoolErrc::full || ec == SpoolErrc::low_space) && pending_.size() > 1) {
        // Take what still fits, one batch at a time.
        std::vector<NewBatch> rest = std::move(pending_);
        pending_.clear();
        const std::uint64_t before = batches_;
        for (auto& b : rest) {
            std::vector<NewBatch> one;
            one.push_back(std::move(b));
            ec = spool_.append(one, &ids);
            if (ec) break;
            if (held_) held_ids_.insert(held_ids_.end(), ids.begin(), ids.end());
            events_ += one.front().events;
            ++batches_;
        }
        if (batches_ > before && spooled_ && !held_) spooled_(write_key_);
    } else if (!ec) {
        if (held_) held_ids_.insert(held_ids_.end(), ids.begin(), ids.end());
        for (const auto& b : pending_) events_ += b.events;
        batches_ += pending_.size();
        if (spooled_ && !held_) spooled_(write_key_);
    }
    recycle_pending();
    pending_bytes_ = 0;
    error_ = ec;
    return ec;
}

// Plain bodies are handed back once stored (or refused): their capacity serves the next batch.
void BatchCommitter::recycle_pending() {
    if (builder_) {
        for (auto& b : pending_) {
            if (!core::StoredBody::compressed(b.body)) builder_->recycle(std::move(b.body));
        }
    }
    pending_.clear();
}

}  // namespace lsr::server
