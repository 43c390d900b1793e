#include "server/net/logger.hpp"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <string>

#include "core/manual_clock.hpp"

namespace {

// What `write` printed on stdout.
template <class Write>
std::string captured_stdout(Write&& write) {
    std::fflush(stdout);
    std::FILE* file = std::tmpfile();
    REQUIRE(file != nullptr);
    const int saved = ::dup(STDOUT_FILENO);
    ::dup2(::fileno(file), STDOUT_FILENO);
    write();
    std::fflush(stdout);
    ::dup2(saved, STDOUT_FILENO);
    ::close(saved);
    std::string out;
    std::rewind(file);
    char buf[512];
    while (const auto n = std::fread(buf, 1, sizeof buf, file)) out.append(buf, n);
    std::fclose(file);
    return out;
}

}  // namespace

TEST_CASE("Logger: one JSON line stamped with the clock's wall time", "[logger]") {
    lsr::core::ManualClock clock(1'764'911'722'123);  // 2025-12-05T05:15:22.123Z
    lsr::server::Logger log(lsr::server::LogLevel::info, clock);
    const auto line = captured_stdout([&] {
        log.info("sent", {{"write_key", std::string_view("k\"1")},
                          {"events", std::int64_t{3}},
                          {"ratio", 0.5},
                          {"gzip", true}});
        log.debug("not shown");
    });
    CHECK(line ==
          "{\"ts\":\"2025-12-05T05:15:22.123Z\",\"level\":\"info\",\"msg\":\"sent\",\"write_key\":\"k\\\"1\","
          "\"events\":3,\"ratio\":0.5,\"gzip\":true}\n");
}

TEST_CASE("Logger: a line stays valid UTF-8 whatever it quotes", "[logger]") {
    lsr::core::ManualClock clock(0);
    lsr::server::Logger log(lsr::server::LogLevel::debug, clock);
    const auto line = captured_stdout([&] {
        log.warn("bad \xff byte\n", {{"path", std::string_view("/a\x01")}});
    });
    CHECK(line ==
          "{\"ts\":\"1970-01-01T00:00:00.000Z\",\"level\":\"warn\",\"msg\":\"bad \xef\xbf\xbd byte\\n\","
          "\"path\":\"/a\\u0001\"}\n");
}
