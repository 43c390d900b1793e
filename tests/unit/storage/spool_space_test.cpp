#include "server/storage/spool_space.hpp"

#include <catch2/catch.hpp>

#include "server/storage/spool.hpp"

using lsr::server::SpoolErrc;
using lsr::server::SpoolFootprint;
using lsr::server::SpoolSpace;

TEST_CASE("SpoolSpace keeps a WAL reserve of a sixteenth, between two pages and 64 MiB", "[spool_space]") {
    CHECK(SpoolSpace::wal_reserve(1024 * 1024, 4096) == 64 * 1024);
    CHECK(SpoolSpace::wal_reserve(1024 * 1024, 65536) == 128 * 1024);  // two pages at least
    CHECK(SpoolSpace::wal_reserve(512ull * 1024 * 1024, 65536) == 32ull * 1024 * 1024);
    CHECK(SpoolSpace::wal_reserve(8ull << 30, 65536) == 64ull * 1024 * 1024);  // at most 64 MiB
}

TEST_CASE("SpoolSpace counts the main file, its free pages and the WAL", "[spool_space]") {
    const std::uint64_t max = 1024 * 1024;
    SpoolSpace space("/nonexistent-dir/spool.db", max, 0);
    SpoolFootprint f;
    f.page_size = 4096;
    f.db_file = 100 * 4096;
    // Nothing to write: the file and the WAL reserve.
    CHECK(space.projected(f, 0, 0) == f.db_file + 64 * 1024);
    // A write grows the main file and the WAL by its pages (and a few more a commit rewrites).
    const auto grown = space.projected(f, 40000, 1);
    CHECK(grown > f.db_file + 64 * 1024 + 2 * 40000);
    // Free pages are used first: the main file does not grow, only the WAL counts the write.
    f.free_bytes = 50 * 4096;
    const auto reused = space.projected(f, 40000, 1);
    CHECK(reused < grown);
    CHECK(reused > f.db_file + 64 * 1024 + 40000);
    // A WAL larger than its reserve is counted as it is.
    f.wal_file = 300 * 1024;
    CHECK(space.projected(f, 0, 0) == f.db_file + 300 * 1024);
    // Headroom for rewriting the largest batch (a retry writes its row anew), twice.
    f.wal_file = 0;
    const auto base = space.projected(f, 0, 0);
    f.largest_batch = 40000;
    CHECK(space.projected(f, 0, 0) >= base + 2 * 40000);
    f.largest_batch = 0;
    // Over the bound: full.
    f.db_file = max - 64 * 1024;
    f.wal_file = 0;
    f.free_bytes = 0;
    CHECK(space.check(f, 0, 0) == std::error_code{});
    CHECK(space.check(f, 1, 1) == SpoolErrc::full);
}

TEST_CASE("SpoolSpace refuses below the free-space reserve", "[spool_space]") {
    SpoolFootprint f;
    SpoolSpace ok(".", 1ull << 40, 0);
    CHECK(ok.check(f, 1000, 1) == std::error_code{});
    REQUIRE(ok.free_space().has_value());
    SpoolSpace low(".", 1ull << 40, *ok.free_space() + (1ull << 30));
    CHECK(low.check(f, 0, 0) == SpoolErrc::low_space);
    SpoolSpace unreadable("/nonexistent-dir/x/spool.db", 1ull << 40, 1ull << 62);
    CHECK_FALSE(unreadable.free_space().has_value());
    CHECK(unreadable.check(f, 0, 0) == std::error_code{});  // unknown: nothing refused for it
}

TEST_CASE("SpoolSpace keeps a batch's last error short, whole characters only", "[spool_space]") {
    CHECK(SpoolSpace::clip_error("HTTP 503") == "HTTP 503");
    const std::string ascii(1000, 'e');
    CHECK(SpoolSpace::clip_error(ascii).size() == SpoolSpace::kErrorBytes);
    std::string accents;
    while (accents.size() < 1000) accents += "\xc3\xa9";      // é, two bytes
    const std::string error = std::string(1, 'x') + accents;  // clip_error views into it
    const auto clipped = SpoolSpace::clip_error(error);
    CHECK(clipped.size() <= SpoolSpace::kErrorBytes);
    CHECK((static_cast<unsigned char>(clipped.back()) == 0xa9));  // ends after a whole character
}

TEST_CASE("SpoolSpace reserves room for every batch's last error", "[spool_space]") {
    SpoolSpace space("/nonexistent-dir/spool.db", 1024 * 1024, 0);
    SpoolFootprint f;
    f.page_size = 4096;
    const auto none = space.projected(f, 0, 0);
    f.batches = 100;
    CHECK(space.projected(f, 0, 0) == none + 100 * SpoolSpace::kErrorBytes);
}
