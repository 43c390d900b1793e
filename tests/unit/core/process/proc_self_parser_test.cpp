#include "core/process/proc_self_parser.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <string>

using lsr::core::ProcSelfParser;

namespace {

// A /proc/self/stat line as Linux 6.1 writes it, with `comm` in place of the name.
std::string stat_line(const std::string& comm) {
    return "6462 (" + comm +
           ") R 6453 6453 1170 0 -1 4194304 102 0 0 0 1234 567 0 0 20 0 1 0 2430614 3133440 412 "
           "18446744073709551615 94133413519360 94133413539241 140725113455440 0 0 0 0 0 0 0 0 0 17 1 0 0 0 "
           "0 0 94133413555248 94133413556864 94134381846528 140725113461176 140725113461196 "
           "140725113461196 140725113462763 0\n";
}

}  // namespace

TEST_CASE("ProcSelfParser: the fields of /proc/self/stat, whatever the command's name") {
    for (const std::string comm : {"looker-segment", "a b", "a) b (c", ")", "((", "", "x) 1 2 3 4 5 6 7"}) {
        INFO("comm: " << comm);
        const auto st = ProcSelfParser::parse_stat(stat_line(comm));
        REQUIRE(st);
        CHECK(st->utime_ticks == 1234);
        CHECK(st->stime_ticks == 567);
        CHECK(st->starttime_ticks == 2430614);
        CHECK(st->vsize_bytes == 3133440);
        CHECK(st->rss_pages == 412);
    }
}

TEST_CASE("ProcSelfParser: a stat text that is not the kernel's gives nothing") {
    const struct {
        const char* what;
        std::string text;
    } cases[] = {
        {"empty", ""},
        {"no parentheses", "6462 cat R 6453 6453 1170 0 -1 4194304 102 0 0 0 1234 567 0 0 20 0 1 0 24 31 41"},
        {"no pid", "(cat) R 6453 6453 1170 0 -1 4194304 102 0 0 0 1234 567 0 0 20 0 1 0 24 31 41"},
        {"cut short before rss",
         "6462 (cat) R 6453 6453 1170 0 -1 4194304 102 0 0 0 1234 567 0 0 20 0 1 0 24 31"},
        {"a letter in utime",
         "6462 (cat) R 6453 6453 1170 0 -1 4194304 102 0 0 0 12x4 567 0 0 20 0 1 0 24 31 41"},
        {"a negative vsize",
         "6462 (cat) R 6453 6453 1170 0 -1 4194304 102 0 0 0 1234 567 0 0 20 0 1 0 24 -31 41"},
        {"only the close of comm", "6462 cat) R"},
    };
    for (const auto& c : cases) {
        INFO(c.what);
        CHECK_FALSE(ProcSelfParser::parse_stat(c.text));
    }
}

TEST_CASE("ProcSelfParser: a negative rss reads as 0") {
    const std::string text =
        "1 (init) S 0 1 1 0 -1 4194560 1 0 0 0 5 6 0 0 20 0 1 0 7 8192 -1 18446744073709551615 0 0 0 0 0";
    const auto st = ProcSelfParser::parse_stat(text);
    REQUIRE(st);
    CHECK(st->rss_pages == 0);
    CHECK(st->vsize_bytes == 8192);
}

TEST_CASE("ProcSelfParser: the boot time from /proc/stat") {
    const std::string proc_stat =
        "cpu  1 2 3 4 5 6 7 0 0 0\ncpu0 1 2 3 4 5 6 7 0 0 0\nintr 12 0 0\nctxt 99\nbtime 1796447645\n"
        "processes 6470\nprocs_running 2\n";
    CHECK(ProcSelfParser::parse_boot_time(proc_stat) == 1796447645);
    CHECK(ProcSelfParser::parse_boot_time("btime 1796447645") == 1796447645);  // no final newline
    CHECK(ProcSelfParser::parse_boot_time("btime   42  \n") == 42);
    CHECK_FALSE(ProcSelfParser::parse_boot_time(""));
    CHECK_FALSE(ProcSelfParser::parse_boot_time("cpu 1 2 3\nctxt 99\n"));
    CHECK_FALSE(ProcSelfParser::parse_boot_time("btime\n"));
    CHECK_FALSE(ProcSelfParser::parse_boot_time("btime soon\n"));
    CHECK_FALSE(ProcSelfParser::parse_boot_time("btime 0\n"));
    CHECK_FALSE(ProcSelfParser::parse_boot_time("btime 12 13\n"));
    CHECK_FALSE(ProcSelfParser::parse_boot_time("xbtime 12\n"));
}

TEST_CASE("ProcSelfParser: the soft limit of open files from /proc/self/limits") {
    const std::string limits =
        "Limit                     Soft Limit           Hard Limit           Units     \n"
        "Max cpu time              unlimited            unlimited            seconds   \n"
        "Max processes             63504                63504                processes \n"
        "Max open files            1024                 524288               files     \n"
        "Max locked memory         8388608              8388608              bytes     \n";
    CHECK(ProcSelfParser::parse_max_open_files(limits) == 1024.0);
    const auto unlimited =
        ProcSelfParser::parse_max_open_files("Max open files  unlimited  unlimited  files\n");
    REQUIRE(unlimited);
    CHECK(std::isinf(*unlimited));
    CHECK_FALSE(ProcSelfParser::parse_max_open_files(""));
    CHECK_FALSE(ProcSelfParser::parse_max_open_files("Max processes 1 1 processes\n"));
    CHECK_FALSE(ProcSelfParser::parse_max_open_files("Max open files\n"));
    CHECK_FALSE(ProcSelfParser::parse_max_open_files("Max open files  many  many  files\n"));
    CHECK_FALSE(ProcSelfParser::parse_max_open_files("Max open files  -1  -1  files\n"));
}
