#include "server/service/process_collector.hpp"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

using lsr::server::ProcessCollector;
namespace fs = std::filesystem;

namespace {

std::map<std::string, double> figures(const ProcessCollector& c) {
    std::map<std::string, double> out;
    for (const auto& f : c.Collect()) {
        REQUIRE(f.metric.size() == 1);
        out[f.name] =
            f.type == prometheus::MetricType::Counter ? f.metric[0].counter.value : f.metric[0].gauge.value;
        CHECK(f.type == (f.name == "process_cpu_seconds_total" ? prometheus::MetricType::Counter
                                                               : prometheus::MetricType::Gauge));
    }
    return out;
}

struct FakeProc {
    fs::path root;
    FakeProc() {
        root = fs::temp_directory_path() / ("lsr-fake-proc-" + std::to_string(::getpid()));
        fs::remove_all(root);
        fs::create_directories(root / "self" / "fd");
    }
    ~FakeProc() {
        std::error_code ec;
        fs::remove_all(root, ec);
    }
    FakeProc(const FakeProc&) = delete;
    FakeProc& operator=(const FakeProc&) = delete;
    void write(const std::string& rel, const std::string& text) const { std::ofstream(root / rel) << text; }
};

}  // namespace

TEST_CASE("ProcessCollector: this process's figures from the real /proc") {
    const ProcessCollector collector("/proc");
    const auto f = figures(collector);
    REQUIRE(f.size() == 6);
    CHECK(f.at("process_resident_memory_bytes") > 0);
    CHECK(f.at("process_virtual_memory_bytes") >= f.at("process_resident_memory_bytes"));
    CHECK(f.at("process_cpu_seconds_total") >= 0);
    CHECK(f.at("process_open_fds") >= 3);  // stdin, stdout, stderr at least
    CHECK(f.at("process_max_fds") >= f.at("process_open_fds"));
    const double now =
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    // This test process started before now, and not days ago.
    CHECK(f.at("process_start_time_seconds") <= now + 2);
    CHECK(f.at("process_start_time_seconds") > now - 86400);
}

TEST_CASE("ProcessCollector: figures from the files, in the units Prometheus uses") {
    FakeProc proc;
    proc.write("stat", "cpu  1 2 3\nbtime 1700000000\n");
    proc.write("self/stat",
               "42 (relay (x)) S 1 42 42 0 -1 4194304 1 0 0 0 250 150 0 0 20 0 3 0 1000 123456789 1000 "
               "18446744073709551615 0 0 0 0 0\n");
    proc.write("self/limits", "Limit   Soft Limit   Hard Limit   Units\nMax open files  4096  8192  files\n");
    for (const char* fd : {"0", "1", "2", "7"}) proc.write(std::string("self/fd/") + fd, "");
    const auto f = figures(ProcessCollector(proc.root.string()));
    const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
    const double page = static_cast<double>(::sysconf(_SC_PAGESIZE));
    CHECK(f.at("process_cpu_seconds_total") == Approx(400 / ticks));
    CHECK(f.at("process_resident_memory_bytes") == 1000 * page);
    CHECK(f.at("process_virtual_memory_bytes") == 123456789.0);
    CHECK(f.at("process_start_time_seconds") == Approx(1700000000.0 + 1000 / ticks));
    CHECK(f.at("process_open_fds") == 4.0);
    CHECK(f.at("process_max_fds") == 4096.0);
}

TEST_CASE("ProcessCollector: a figure that cannot be read is left out, the others stay") {
    FakeProc proc;
    proc.write("self/stat", "garbage\n");
    proc.write("stat", "btime 1700000000\n");
    proc.write("self/limits", "Max open files  1024  1024  files\n");
    auto f = figures(ProcessCollector(proc.root.string()));
    CHECK(f.size() == 2);
    CHECK(f.contains("process_open_fds"));
    CHECK(f.contains("process_max_fds"));

    // Nothing there at all: nothing, and no exception.
    f = figures(ProcessCollector((proc.root / "absent").string()));
    CHECK(f.empty());
}
