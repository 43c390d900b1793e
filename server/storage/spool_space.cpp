#include "server/storage/spool_space.hpp"

#include <sys/statvfs.h>

#include <algorithm>
#include <filesystem>

#include "server/storage/spool.hpp"

namespace lsr::server {

namespace {

// Per batch: its row's columns and cell header next to the body.
constexpr std::uint64_t kRowOverhead = 256;
// Pages a commit rewrites besides the body's own, and the WAL's header per page (frame).
constexpr std::uint64_t kTouchedPages = 4;
constexpr std::uint64_t kFrameHeader = 24;

std::uint64_t round_up(std::uint64_t n, std::uint64_t unit) {
    return unit == 0 ? n : (n + unit - 1) / unit * unit;
}

}  // namespace

SpoolSpace::SpoolSpace(std::string path, std::uint64_t max_bytes, std::uint64_t min_free_bytes)
    : max_bytes_(max_bytes), min_free_bytes_(min_free_bytes) {
    const auto parent = std::filesystem::path(path).parent_path();
    dir_ = parent.empty() ? std::string(".") : parent.string();
}

std::uint64_t SpoolSpace::wal_reserve(std::uint64_t max_bytes, std::uint64_t page_size) {
    constexpr std::uint64_t kMax = 64ull * 1024 * 1024;
    const std::uint64_t two_pages = 2 * page_size;
    return round_up(std::clamp<std::uint64_t>(max_bytes / 16, two_pages, std::max(kMax, two_pages)),
                    page_size);
}

std::uint64_t SpoolSpace::projected(const SpoolFootprint& now, std::uint64_t body_bytes,
                                    std::size_t batches) const {
    const std::uint64_t page = std::max<std::uint64_t>(now.page_size, 512);
    const std::uint64_t written = batches == 0 ? 0 : round_up(body_bytes + kRowOverhead * batches, page);
    // Besides the body's pages, a commit rewrites a few: the table's and the index's leaves
    // (which may split), the free list and the header page.
    const std::uint64_t touched = batches == 0 ? 0 : written + kTouchedPages * page;
    const std::uint64_t db_growth = touched > now.free_bytes ? touched - now.free_bytes : 0;
    const std::uint64_t wal_growth = touched + (touched / page) * kFrameHeader;
    const std::uint64_t wal = std::max(now.wal_file, wal_reserve(max_bytes_, page));
    const std::uint64_t rewrite =
        now.largest_batch == 0 ? 0 : round_up(now.largest_batch + kRowOverhead, page);
    const std::uint64_t errors = (now.batches + batches) * kErrorBytes;
    return now.db_file + db_growth + wal + wal_growth + 2 * rewrite + errors;
}

std::error_code SpoolSpace::check(const SpoolFootprint& now, std::uint64_t body_bytes,
                                  std::size_t batches) const {
    if (projected(now, body_bytes, batches) > max_bytes_) return make_error_code(SpoolErrc::full);
    if (min_free_bytes_ > 0) {
        if (auto free = free_space()) {
            const std::uint64_t page = std::max<std::uint64_t>(now.page_size, 512);
            const std::uint64_t need =
                batches == 0 ? 0 : 2 * round_up(body_bytes + kRowOverhead * batches, page);
            if (*free < min_free_bytes_ + need) return make_error_code(SpoolErrc::low_space);
        }
    }
    return {};
}

std::string_view SpoolSpace::clip_error(std::string_view error) {
    if (error.size() <= kErrorBytes) return error;
    std::size_t n = kErrorBytes;
    while (n > 0 && (static_cast<unsigned char>(error[n]) & 0xC0) == 0x80) --n;  // not inside a character
    return error.substr(0, n);
}

std::optional<std::uint64_t> SpoolSpace::free_space() const {
    struct statvfs st {};
    if (::statvfs(dir_.c_str(), &st) != 0) return std::nullopt;
    return static_cast<std::uint64_t>(st.f_bavail) * static_cast<std::uint64_t>(st.f_frsize);
}

}  // namespace lsr::server
