#include "server/storage/spool_probe.hpp"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <thread>

using namespace lsr::server;

TEST_CASE("the spool probe takes its first look at once and follows the spool", "[spool_probe]") {
    char tmpl[] = "/tmp/lsr-probe-XXXXXX";
    const std::filesystem::path dir = ::mkdtemp(tmpl);
    lsr::config::SpoolConfig cfg;
    cfg.path = (dir / "spool.db").string();
    std::error_code ec;
    std::string message;
    auto spool = Spool::open(cfg, ec, message);
    REQUIRE(spool);
    {
        SpoolProbe probe(*spool, std::chrono::milliseconds(10));
        CHECK(probe.latest().writable);
        CHECK(probe.latest().stats.batches == 0);

        NewBatch b;
        b.write_key = "wk";
        b.body = R"({"type":"identify","userId":"1"})";
        b.events = 1;
        REQUIRE_FALSE(spool->append({b}, nullptr));
        bool seen = false;
        for (int i = 0; i < 200 && !seen; ++i) {
            seen = probe.latest().stats.batches == 1;
            if (!seen) std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        CHECK(seen);
    }  // the probe's thread stops and joins here
    spool.reset();
    std::filesystem::remove_all(dir);
}
