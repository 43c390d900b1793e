// The spool's lock: two relay processes never serve the same spool; the tools open beside one.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "server/storage/spool.hpp"

namespace fs = std::filesystem;
using lsr::server::NewBatch;
using lsr::server::Spool;
using lsr::server::SpoolErrc;
using lsr::server::SpoolOpenOptions;

namespace {

struct LockTempDir {
    fs::path dir;
    LockTempDir() {
        std::string tmpl = (fs::temp_directory_path() / "lsr-spool-lock-test-XXXXXX").string();
        REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
        dir = tmpl;
    }
    ~LockTempDir() {
        std::error_code ec;
        fs::remove_all(dir, ec);
    }
    std::string file(const std::string& name) const { return (dir / name).string(); }
};

lsr::config::SpoolConfig lock_config(const std::string& path) {
    lsr::config::SpoolConfig cfg;
    cfg.path = path;
    cfg.max_bytes = 1ull << 30;
    return cfg;
}

struct Opened {
    std::unique_ptr<Spool> spool;
    std::error_code ec;
    std::string message;
};

Opened open_with(const lsr::config::SpoolConfig& cfg, bool exclusive, bool create = true) {
    SpoolOpenOptions options;
    options.exclusive = exclusive;
    options.create = create;
    Opened r;
    r.spool = Spool::open(cfg, options, r.ec, r.message);
    return r;
}

// Whether a fresh open file description gets the lock (as another process would); lets it go.
bool can_flock(const std::string& lock_path) {
    const int fd = ::open(lock_path.c_str(), O_RDWR | O_CLOEXEC);
    REQUIRE(fd >= 0);
    const bool ok = ::flock(fd, LOCK_EX | LOCK_NB) == 0;
    ::close(fd);
    return ok;
}

// A child process that opens the spool exclusively (as `serve` does), appends one batch,
// reports on a pipe and waits to be killed.
struct LockHolder {
    pid_t pid = -1;
    explicit LockHolder(const lsr::config::SpoolConfig& cfg) {
        int fds[2];
        REQUIRE(::pipe(fds) == 0);
        pid = ::fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            ::close(fds[0]);
            std::error_code ec;
            std::string message;
            auto spool = Spool::open(cfg, ec, message);
            char ok = spool ? '1' : '0';
            if (spool) {
                NewBatch b;
                b.write_key = "wk";
                b.body = R"({"type":"identify","userId":"u1"})";
                b.events = 1;
                b.created_ms = 1000;
                if (spool->append({b}, nullptr)) ok = '0';
            }
            if (::write(fds[1], &ok, 1) != 1) ::_exit(2);
            for (;;) ::pause();
        }
        ::close(fds[1]);
        char ok = 0;
        const ssize_t n = ::read(fds[0], &ok, 1);
        ::close(fds[0]);
        REQUIRE(n == 1);
        REQUIRE(ok == '1');
    }
    void kill() {
        if (pid <= 0) return;
        ::kill(pid, SIGKILL);
        int status = 0;
        ::waitpid(pid, &status, 0);
        pid = -1;
    }
    ~LockHolder() { kill(); }
};

}  // namespace

TEST_CASE("a second exclusive open in another process is refused while the first holds the lock",
          "[spool][lock]") {
    LockTempDir tmp;
    const auto cfg = lock_config(tmp.file("spool.db"));
    LockHolder holder(cfg);

    auto second = open_with(cfg, true);
    CHECK(second.spool == nullptr);
    CHECK(second.ec == SpoolErrc::locked);
    INFO(second.message);
    CHECK(second.message.find(cfg.path) != std::string::npos);
    CHECK(second.message.find("another relay") != std::string::npos);
    CHECK(second.message.find("pid " + std::to_string(holder.pid)) != std::string::npos);
    CHECK(second.message.find(cfg.path + ".lock") != std::string::npos);
    CHECK(std::string(second.ec.message()).find("another relay") != std::string::npos);

    // The tools open beside the running relay and see its data.
    auto tool = open_with(cfg, false, false);
    INFO(tool.message);
    REQUIRE(tool.spool != nullptr);
    CHECK(tool.spool->stats().batches == 1);

    // SIGKILL: the kernel lets the lock go; the next relay starts on the same spool.
    holder.kill();
    auto next = open_with(cfg, true);
    INFO(next.message);
    REQUIRE(next.spool != nullptr);
    CHECK(next.spool->stats().batches == 1);
}

TEST_CASE("the lock file is owner-only, stays, and carries the holder's pid", "[spool][lock]") {
    LockTempDir tmp;
    const auto cfg = lock_config(tmp.file("spool.db"));
    {
        auto first = open_with(cfg, true);
        REQUIRE(first.spool != nullptr);
        struct stat st {};
        REQUIRE(::stat((cfg.path + ".lock").c_str(), &st) == 0);
        CHECK((st.st_mode & 0777) == 0600);
        std::FILE* f = std::fopen((cfg.path + ".lock").c_str(), "r");
        REQUIRE(f != nullptr);
        char buf[32] = {};
        const std::size_t n = std::fread(buf, 1, sizeof buf - 1, f);
        std::fclose(f);
        CHECK(std::string(buf, n) == std::to_string(::getpid()) + "\n");
    }
    CHECK(fs::exists(cfg.path + ".lock"));
    CHECK(can_flock(cfg.path + ".lock"));
    // Released with the Spool: a new exclusive open succeeds.
    auto again = open_with(cfg, true);
    CHECK(again.spool != nullptr);
}

TEST_CASE("an existing lock file with loose permissions is tightened", "[spool][lock]") {
    LockTempDir tmp;
    const auto cfg = lock_config(tmp.file("spool.db"));
    std::FILE* f = std::fopen((cfg.path + ".lock").c_str(), "w");
    REQUIRE(f != nullptr);
    std::fclose(f);
    REQUIRE(::chmod((cfg.path + ".lock").c_str(), 0644) == 0);
    auto r = open_with(cfg, true);
    REQUIRE(r.spool != nullptr);
    struct stat st {};
    REQUIRE(::stat((cfg.path + ".lock").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
}

TEST_CASE("exclusive opens in one process share the lock", "[spool][lock]") {
    LockTempDir tmp;
    const auto cfg = lock_config(tmp.file("spool.db"));
    auto a = open_with(cfg, true);
    REQUIRE(a.spool != nullptr);
    {
        auto b = open_with(cfg, true);
        INFO(b.message);
        REQUIRE(b.spool != nullptr);
    }
    // Still held by `a` after `b` is gone: a new open file description cannot take it.
    CHECK(!can_flock(cfg.path + ".lock"));
    a.spool.reset();
    CHECK(can_flock(cfg.path + ".lock"));
    auto d = open_with(cfg, true);
    CHECK(d.spool != nullptr);
}

TEST_CASE("a corrupt spool is refused without a lock left behind", "[spool][lock]") {
    LockTempDir tmp;
    const auto cfg = lock_config(tmp.file("spool.db"));
    {
        std::FILE* f = std::fopen(cfg.path.c_str(), "w");
        REQUIRE(f != nullptr);
        std::fputs(std::string(5000, 'x').c_str(), f);
        std::fclose(f);
    }
    auto r = open_with(cfg, true);
    CHECK(r.ec == SpoolErrc::corrupt);
    CHECK(can_flock(cfg.path + ".lock"));
    // After moving the file aside, the same process opens a new spool: nothing held the lock.
    fs::rename(cfg.path, cfg.path + ".aside");
    auto fresh = open_with(cfg, true);
    INFO(fresh.message);
    CHECK(fresh.spool != nullptr);
}

TEST_CASE("an exclusive open without create of a missing spool leaves no lock file", "[spool][lock]") {
    LockTempDir tmp;
    const auto cfg = lock_config(tmp.file("spool.db"));
    auto r = open_with(cfg, true, false);
    CHECK(r.ec == SpoolErrc::not_found);
    CHECK(!fs::exists(cfg.path + ".lock"));
}

TEST_CASE("the tools' open takes no lock", "[spool][lock]") {
    LockTempDir tmp;
    const auto cfg = lock_config(tmp.file("spool.db"));
    REQUIRE(open_with(cfg, true).spool != nullptr);  // creates the spool (and its lock file)
    auto tool = open_with(cfg, false, false);
    REQUIRE(tool.spool != nullptr);
    CHECK(can_flock(cfg.path + ".lock"));
}
