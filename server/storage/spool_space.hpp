// How much disk the spool takes and may take (spool.max_bytes, spool.min_free_bytes). The bound
// is on the files on disk: the main database file (free pages included), and its WAL, which is
// kept under `wal_reserve` bytes (checkpointed at half, cut back beyond) and always counted at
// least at that reserve; room is kept for rewriting the largest batch and every batch's last
// error. New work is also refused while the filesystem that holds the spool has less free
// space than spool.min_free_bytes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace lsr::server {

// The spool's files as they are now.
struct SpoolFootprint {
    std::uint64_t db_file = 0;     // the main database file
    std::uint64_t wal_file = 0;    // its -wal file (0 when absent)
    std::uint64_t free_bytes = 0;  // free pages in the main file (reused before it grows)
    std::uint64_t page_size = 4096;
    // The largest batch a settle may rewrite: an update of a batch's row (reschedule), a
    // split or a dead letter writes its body anew, in the WAL and in new pages, before the
    // old ones are freed. Counted twice as headroom.
    std::uint64_t largest_batch = 0;
    // Batches in the spool: each may yet get a last error (up to kErrorBytes) on a retry.
    std::uint64_t batches = 0;
};

class SpoolSpace {
  public:
    // The longest last error a batch keeps (a retry's reason), reserved for every batch.
    static constexpr std::size_t kErrorBytes = 256;
    // `error` cut to kErrorBytes at a UTF-8 character boundary.
    static std::string_view clip_error(std::string_view error);

    SpoolSpace(std::string path, std::uint64_t max_bytes, std::uint64_t min_free_bytes);

    // The WAL size counted at least (the spool checkpoints at half of it and cuts back a WAL
    // that grows past it): a sixteenth of max_bytes, between 2 pages and 64 MiB.
    static std::uint64_t wal_reserve(std::uint64_t max_bytes, std::uint64_t page_size);

    // The files on disk (high estimate) once `batches` batches with `body_bytes` of bodies in
    // all are written: the main file grows by what its free pages cannot hold, and the WAL
    // holds the new pages (and the few others a commit rewrites) until its checkpoint.
    std::uint64_t projected(const SpoolFootprint& now, std::uint64_t body_bytes, std::size_t batches) const;

    // SpoolErrc::full when the projection exceeds max_bytes, SpoolErrc::low_space when the
    // filesystem's free space (for unprivileged users) minus what the write may add is below
    // min_free_bytes; {} otherwise.
    std::error_code check(const SpoolFootprint& now, std::uint64_t body_bytes, std::size_t batches) const;

    // Free bytes for unprivileged users on the filesystem holding the spool (statvfs);
    // nullopt when it cannot be read (then nothing is refused for it).
    std::optional<std::uint64_t> free_space() const;

    std::uint64_t max_bytes() const { return max_bytes_; }
    std::uint64_t min_free_bytes() const { return min_free_bytes_; }

  private:
    std::string dir_;
    std::uint64_t max_bytes_;
    std::uint64_t min_free_bytes_;
};

}  // namespace lsr::server
