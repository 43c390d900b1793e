#include "server/storage/spool.hpp"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "server/storage/spool_salvage.hpp"

namespace fs = std::filesystem;
using lsr::server::DeadLetter;
using lsr::server::NewBatch;
using lsr::server::Spool;
using lsr::server::SpoolBatch;
using lsr::server::SpoolErrc;
using lsr::server::SpoolSalvage;

namespace {

std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// A fresh directory per test, removed at the end.
struct TempDir {
    fs::path dir;
    TempDir() {
        std::string tmpl = (fs::temp_directory_path() / "lsr-spool-test-XXXXXX").string();
        REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
        dir = tmpl;
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(dir, ec);
    }
    std::string file(const std::string& name) const { return (dir / name).string(); }
};

lsr::config::SpoolConfig config_for(const std::string& path, std::uint64_t max_bytes = 1ull << 30) {
    lsr::config::SpoolConfig cfg;
    cfg.path = path;
    cfg.max_bytes = max_bytes;
    return cfg;
}

std::unique_ptr<Spool> open_ok(const lsr::config::SpoolConfig& cfg) {
    std::error_code ec;
    std::string message;
    auto spool = Spool::open(cfg, ec, message);
    INFO(message);
    REQUIRE(spool != nullptr);
    REQUIRE(!ec);
    return spool;
}

NewBatch batch(const std::string& key, std::size_t events, std::int64_t created_ms = 1000,
               const std::string& request_id = "req-1") {
    NewBatch b;
    b.write_key = key;
    for (std::size_t i = 0; i < events; ++i) {
        if (i != 0) b.body += ",\n";
        b.body += R"({"type":"identify","userId":")" + key + "-" + std::to_string(i) + R"("})";
    }
    b.events = static_cast<std::uint32_t>(events);
    b.request_id = request_id;
    b.created_ms = created_ms;
    return b;
}

std::vector<std::int64_t> append_ok(Spool& spool, const std::vector<NewBatch>& batches) {
    std::vector<std::int64_t> ids;
    REQUIRE(spool.append(batches, &ids) == std::error_code{});
    REQUIRE(ids.size() == batches.size());
    return ids;
}

unsigned mode_of(const std::string& path) {
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    return st.st_mode & 0777;
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::string bytes(static_cast<std::size_t>(fs::file_size(path)), '\0');
    in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    return bytes;
}

void write_file(const std::string& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << bytes;
}

struct OpenResult {
    std::unique_ptr<Spool> spool;
    std::error_code ec;
    std::string message;
};

OpenResult try_open(const lsr::config::SpoolConfig& cfg, lsr::server::SpoolOpenOptions options = {}) {
    OpenResult r;
    r.spool = Spool::open(cfg, options, r.ec, r.message);
    return r;
}

}  // namespace

TEST_CASE("open creates the parent directories and an owner-only database", "[spool]") {
    TempDir tmp;
    const std::string path = tmp.file("a/b/spool.db");
    auto spool = open_ok(config_for(path));
    CHECK(fs::exists(path));
    CHECK(mode_of(path) == 0600);
    append_ok(*spool, {batch("wk1", 3)});
    for (const char* suffix : {"-wal", "-shm"}) {
        if (fs::exists(path + suffix)) CHECK(mode_of(path + suffix) == 0600);
    }
    CHECK(spool->path() == path);
    CHECK(spool->writable());
    CHECK(mode_of(tmp.file("a")) == 0700);  // directories it creates are owner-only too
    CHECK(mode_of(tmp.file("a/b")) == 0700);
    CHECK(spool->max_bytes() == 1ull << 30);
}

TEST_CASE("open tightens the permissions of an existing spool", "[spool]") {
    TempDir tmp;
    const std::string path = tmp.file("spool.db");
    { open_ok(config_for(path)); }
    REQUIRE(::chmod(path.c_str(), 0644) == 0);
    auto spool = open_ok(config_for(path));
    CHECK(mode_of(path) == 0600);
}

TEST_CASE("append, lease_due and mark_delivered", "[spool]") {
    TempDir tmp;
    auto spool = open_ok(config_for(tmp.file("spool.db")));
    const auto b1 = batch("wk1", 3, 100, "req-a");
    const auto b2 = batch("wk1", 2, 200, "req-b");
    const auto b3 = batch("wk2", 1, 50, "");
    const auto ids = append_ok(*spool, {b1, b2, b3});
    CHECK(ids[0] < ids[1]);
    CHECK(ids[1] < ids[2]);
    CHECK(spool->bytes_used() == b1.body.size() + b2.body.size() + b3.body.size());

    auto leased = spool->lease_due("wk1", now_ms(), 10);
    REQUIRE(leased.size() == 2);
    CHECK(leased[0].id == ids[0]);
    CHECK(leased[0].write_key == "wk1");
    CHECK(leased[0].body == b1.body);
    CHECK(leased[0].events == 3);
    CHECK(leased[0].request_id == "req-a");
    CHECK(leased[0].created_ms == 100);
    CHECK(leased[0].attempts == 0);
    CHECK(leased[0].last_error.empty());
    CHECK(leased[1].id == ids[1]);
    CHECK(spool->leased_count() == 2);

    // Leased batches are not handed out twice.
    CHECK(spool->lease_due("wk1", now_ms(), 10).empty());

    CHECK(spool->mark_delivered(ids[0]) == std::error_code{});
    CHECK(spool->mark_delivered(ids[0]) == SpoolErrc::not_found);
    CHECK(spool->bytes_used() == b2.body.size() + b3.body.size());
    CHECK(spool->leased_count() == 1);

    const auto st = spool->stats();
    CHECK(st.batches == 2);
    CHECK(st.events == 3);
    CHECK(st.bytes == b2.body.size() + b3.body.size());
    CHECK(st.oldest_created_ms == 50);
    CHECK(st.file_bytes > 0);
}

TEST_CASE("append of nothing is a no-op", "[spool]") {
    TempDir tmp;
    auto spool = open_ok(config_for(tmp.file("spool.db")));
    std::vector<std::int64_t> ids{42};
    CHECK(spool->append({}, &ids) == std::error_code{});
    CHECK(ids.empty());
    CHECK(spool->stats().batches == 0);
}

TEST_CASE("lease_due honours the limit, the due time and the oldest-first order", "[spool]") {
    TempDir tmp;
    auto spool = open_ok(config_for(tmp.file("spool.db")));
    const auto ids = append_ok(*spool, {batch("wk", 1, 300), batch("wk", 1, 100), batch("wk", 1, 200)});
    auto first = spool->lease_due("wk", now_ms(), 2);
    REQUIRE(first.size() == 2);
    CHECK(first[0].id == ids[1]);  // created 100
    CHECK(first[1].id == ids[2]);  // created 200
    // Not due before its time.
    CHECK(spool->lease_due("wk", 0, 10).empty());
    CHECK(spool->lease_due("other", now_ms(), 10).empty());
    CHECK(spool->lease_due("wk", now_ms(), 0).empty());
    auto rest = spool->lease_due("wk", now_ms(), 10);
    REQUIRE(rest.size() == 1);
    CHECK(rest[0].id == ids[0]);
    spool->release_all_leases();
    CHECK(spool->leased_count() == 0);
    CHECK(spool->lease_due("wk", now_ms(), 10).size() == 3);
}

TEST_CASE("reschedule counts the attempt, records the error and releases the lease", "[spool]") {
    TempDir tmp;
    auto spool = open_ok(config_for(tmp.file("spool.db")));
    const auto ids = append_ok(*spool, {batch("wk", 2)});
    REQUIRE(spool->lease_due("wk", now_ms(), 1).size() == 1);
    const std::int64_t later = now_ms() + 60'000;
    CHECK(spool->reschedule(ids[0], later, "503 from Segment") == std::error_code{});
    CHECK(spool->leased_count() == 0);
    CHECK(spool->lease_due("wk", later - 1, 10).empty());
    auto again = spool->lease_due("wk", later, 10);
    REQUIRE(again.size() == 1);
    CHECK(again[0].attempts == 1);
    CHECK(again[0].next_attempt_ms == later);
    CHECK(again[0].last_error == "503 from Segment");
    CHECK(spool->reschedule(ids[0], later, "again") == std::error_code{});
    CHECK(spool->reschedule(999'999, later, "x") == SpoolErrc::not_found);
    spool->release_all_leases();
    CHECK(spool->lease_due("wk", later, 10).at(0).attempts == 2);
}

TEST_CASE("write_keys lists every key with the earliest unleased due time", "[spool]") {
    TempDir tmp;
    auto spool = open_ok(config_for(tmp.file("spool.db")));
    const auto ids = append_ok(*spool, {batch("b", 1), batch("a", 1), batch("a", 1)});
    REQUIRE(spool->reschedule(ids[1], 5'000'000'000'000, "x") == std::error_code{});
    auto keys = spool->write_keys();
    REQUIRE(keys.size() == 2);
    CHECK(keys[0].first == "a");
    CHECK(keys[1].first == "b");
    CHECK(keys[0].second <= now_ms());  // ids[2] is due now
    CHECK(keys[1].second <= now_ms());
    REQUIRE(spool->lease_due("a", now_ms(), 10).size() == 1);  // ids[2]
    keys = spool->write_keys();
    CHECK(keys[0].second == 5'000'000'000'000);
    REQUIRE(spool->lease_due("b", now_ms(), 10).size() == 1);
    keys = spool->write_keys();
    REQUIRE(keys.size() == 2);
    CHECK(keys[1].second == std::numeric_limits<std::int64_t>::max());
}

namespace {

constexpr std::uint64_t kSmallSpool = 1024 * 1024;

// Appends `b` until the spool refuses; returns how many fit (at most `cap`).
std::size_t fill(Spool& spool, const NewBatch& b, std::size_t cap = 64) {
    std::size_t n = 0;
    while (n < cap && spool.append({b}, nullptr) == std::error_code{}) ++n;
    return n;
}

std::uint64_t files_on_disk(const std::string& path) {
    std::uint64_t total = 0;
    for (const char* suffix : {"", "-wal"}) {
        std::error_code ec;
        const auto size = fs::file_size(path + suffix, ec);
        if (!ec) total += size;
    }
    return total;
}

}  // namespace

TEST_CASE("a full spool refuses the whole append and leaves everything intact", "[spool]") {
    TempDir tmp;
    const auto b = batch("wk", 4000);  // about 150 KB
    auto spool = open_ok(config_for(tmp.file("spool.db"), kSmallSpool));
    const std::size_t fitted = fill(*spool, b);
    REQUIRE(fitted >= 1);
    REQUIRE(fitted < 64);
    const auto before = spool->stats();
    CHECK(before.batches == fitted);

    std::vector<std::int64_t> refused_ids{7};
    CHECK(spool->append({b}, &refused_ids) == SpoolErrc::full);
    CHECK(refused_ids.empty());
    const auto after = spool->stats();
    CHECK(after.batches == before.batches);
    CHECK(after.bytes == before.bytes);
    CHECK(after.events == before.events);

    // A vector is all or nothing: one that would not fit writes none of its batches.
    spool->purge_batches(nullptr);
    CHECK(spool->append(std::vector<NewBatch>(fitted + 1, b), nullptr) == SpoolErrc::full);
    CHECK(spool->stats().batches == 0);
    // The pages the purge freed are used again: as much fits as before.
    CHECK(fill(*spool, b) == fitted);

    const auto leased = spool->lease_due("wk", now_ms(), 100);
    REQUIRE(leased.size() == fitted);
    CHECK(leased[0].body == b.body);
    // Room again once a batch is delivered.
    REQUIRE(spool->mark_delivered(leased[0].id) == std::error_code{});
    CHECK(spool->append({b}, nullptr) == std::error_code{});
    CHECK(std::error_code(SpoolErrc::full).message().find("full") != std::string::npos);
}

TEST_CASE("max_bytes bounds the spool's files on disk, WAL, free pages and retries included", "[spool]") {
    TempDir tmp;
    const std::string path = tmp.file("spool.db");
    auto cfg = config_for(path, kSmallSpool);
    cfg.synchronous_full = false;  // many small commits
    auto spool = open_ok(cfg);
    const auto big = batch("wk", 4000);
    const auto medium = batch("wk", 1500);
    const auto tiny = batch("wk", 40);  // well under a page: fills the last gaps
    // Batches of all sizes until nothing fits, delivered now and then (which frees pages and
    // writes the WAL), retried (which rewrites whole rows): the files never exceed the bound.
    for (int round = 0; round < 4; ++round) {
        for (const auto* b : {&big, &medium, &tiny}) {
            for (int i = 0; i < 300 && spool->append({*b}, nullptr) == std::error_code{}; ++i) {
                CHECK(files_on_disk(path) <= kSmallSpool);
            }
        }
        CHECK(files_on_disk(path) <= kSmallSpool);
        // Retries rewrite their rows (a longer last error): new pages before the old are freed.
        for (int retry = 0; retry < 3; ++retry) {
            for (const auto& l : spool->lease_due("wk", now_ms(), 100)) {
                REQUIRE(spool->reschedule(l.id, 0, std::string(100 + 50 * retry, 'e')) == std::error_code{});
                CHECK(files_on_disk(path) <= kSmallSpool);
            }
        }
        auto leased = spool->lease_due("wk", now_ms(), 3);
        for (const auto& l : leased) REQUIRE(spool->mark_delivered(l.id) == std::error_code{});
        CHECK(files_on_disk(path) <= kSmallSpool);
    }
    CHECK(spool->stats().file_bytes <= kSmallSpool);
    CHECK(spool->bytes_used() < kSmallSpool);
}

TEST_CASE("new work is refused while the filesystem is below min_free_bytes", "[spool]") {
    TempDir tmp;
    auto cfg = config_for(tmp.file("spool.db"));
    cfg.min_free_bytes = 1ull << 62;  // more than any test machine has free
    {
        auto spool = open_ok(cfg);
        CHECK(spool->room() == SpoolErrc::low_space);
        CHECK(spool->append({batch("wk", 2)}, nullptr) == SpoolErrc::low_space);
        CHECK(spool->stats().batches == 0);
        CHECK(std::error_code(SpoolErrc::low_space).message().find("min_free_bytes") != std::string::npos);
    }
    cfg.min_free_bytes = 0;
    auto spool = open_ok(cfg);
    CHECK(spool->room() == std::error_code{});
    append_ok(*spool, {batch("wk", 2)});
}

TEST_CASE("room() refuses once the spool is full", "[spool]") {
    TempDir tmp;
    auto spool = open_ok(config_for(tmp.file("spool.db"), kSmallSpool));
    CHECK(spool->room() == std::error_code{});
    fill(*spool, batch("wk", 4000));
    fill(*spool, batch("wk", 1500));
    fill(*spool, batch("wk", 50), 1000);  // under one page: the smallest write there is
    CHECK(spool->room() == SpoolErrc::full);
}

TEST_CASE("SQLite's temporary files go to spool.temp_dir, or stay in memory", "[spool]") {
    TempDir tmp;
    {
        auto spool = open_ok(config_for(tmp.file("memory.db")));  // no temp_dir: in memory
        append_ok(*spool, {batch("wk", 3), batch("wk", 3)});
        CHECK(spool->lease_due("wk", now_ms(), 10).size() == 2);
    }
    // A directory that outlives the test: the setting is process-wide in SQLite.
    const auto dir = (fs::temp_directory_path() / "lsr-spool-test-sqlite-tmp").string();
    auto cfg = config_for(tmp.file("dir.db"));
    cfg.temp_dir = dir;
    auto spool = open_ok(cfg);
    CHECK(fs::is_directory(dir));
    append_ok(*spool, {batch("wk", 3), batch("wk", 3)});
    CHECK(spool->lease_due("wk", now_ms(), 10).size() == 2);
}

TEST_CASE("split replaces a batch by two that keep its identity", "[spool]") {
    TempDir tmp;
    auto spool = open_ok(config_for(tmp.file("spool.db")));
    const auto ids = append_ok(*spool, {batch("wk", 4, 777, "req-s")});
    REQUIRE(spool->lease_due("wk", now_ms(), 1).size() == 1);
    REQUIRE(spool->reschedule(ids[0], 0, "400") == std::error_code{});
    REQUIRE(spool->lease_due("wk", now_ms(), 1).size() == 1);
    std::int64_t first = 0;
    std::int64_t second = 0;
    CHECK(spool->split(ids[0], "{\"a\":1},\n{\"a\":2}", 2, "{\"a\":3}", 1, &first, &second) ==
          std::error_code{});
    CHECK(first != 0);
    CHECK(second != 0);
    CHECK(first != second);
    CHECK(spool->leased_count() == 0);
    CHECK(spool->mark_delivered(ids[0]) == SpoolErrc::not_found);
    auto parts = spool->lease_due("wk", now_ms(), 10);
    REQUIRE(parts.size() == 2);
    CHECK(parts[0].id == first);
    CHECK(parts[0].body == "{\"a\":1},\n{\"a\":2}");
    CHECK(parts[0].events == 2);
    CHECK(parts[1].id == second);
    CHECK(parts[1].events == 1);
    for (const auto& p : parts) {
        CHECK(p.write_key == "wk");
        CHECK(p.request_id == "req-s");
        CHECK(p.created_ms == 777);
        CHECK(p.attempts == 1);
        CHECK(p.next_attempt_ms <= now_ms());
    }
    const auto st = spool->stats();
    CHECK(st.batches == 2);
    CHECK(st.events == 3);
    CHECK(st.bytes == std::string("{\"a\":1},\n{\"a\":2}").size() + std::string("{\"a\":3}").size());
    CHECK(spool->bytes_used() == st.bytes);
    CHECK(spool->split(424242, "x", 1, "y", 1, &first, &second) == SpoolErrc::not_found);
    CHECK(spool->stats().batches == 2);
}

TEST_CASE("dead_letter moves the batch with its body; list shows it", "[spool]") {
    TempDir tmp;
    auto spool = open_ok(config_for(tmp.file("spool.db")));
    const auto b = batch("wk-secret", 5, 1234);
    const auto ids = append_ok(*spool, {b, batch("wk-secret", 1, 5000)});
    REQUIRE(spool->lease_due("wk-secret", now_ms(), 1).size() == 1);
    const std::int64_t before = now_ms();
    CHECK(spool->dead_letter(ids[0], 400, "invalid event: traits not flat") == std::error_code{});
    CHECK(spool->dead_letter(ids[0], 400, "again") == SpoolErrc::not_found);
    CHECK(spool->leased_count() == 0);

    const auto st = spool->stats();
    CHECK(st.batches == 1);
    CHECK(st.dead_letters == 1);
    CHECK(st.dead_letter_events == 5);
    CHECK(spool->bytes_used() == st.bytes);

    auto listed = spool->list_dead_letters(10, false);
    REQUIRE(listed.size() == 1);
    const DeadLetter& d = listed[0];
    CHECK(d.id > 0);
    CHECK(d.write_key == "wk-secret");
    CHECK(d.events == 5);
    CHECK(d.status == 400);
    CHECK(d.reason == "invalid event: traits not flat");
    CHECK(d.created_ms == 1234);
    CHECK(d.dead_ms >= before);
    CHECK(d.attempts == 1);
    CHECK(d.body.empty());
    auto with_body = spool->list_dead_letters(10, true);
    REQUIRE(with_body.size() == 1);
    CHECK(with_body[0].body == b.body);
    CHECK(spool->list_dead_letters(0, false).empty());
}

TEST_CASE("replay moves dead letters back, due now, attempts reset, created_ms kept", "[spool]") {
    TempDir tmp;
    auto spool = open_ok(config_for(tmp.file("spool.db")));
    const auto b1 = batch("wk", 2, 11);
    const auto b2 = batch("wk", 3, 22);
    const auto b3 = batch("wk2", 4, 33);
    const auto ids = append_ok(*spool, {b1, b2, b3});
    REQUIRE(spool->reschedule(ids[0], 0, "503") == std::error_code{});
    for (auto id : ids) REQUIRE(spool->dead_letter(id, 0, "gave up after 12h") == std::error_code{});
    REQUIRE(spool->stats().batches == 0);
    CHECK(spool->bytes_used() == 0);
    auto dead = spool->list_dead_letters(100, false);
    REQUIRE(dead.size() == 3);
    CHECK(dead[0].attempts == 2);

    std::size_t replayed = 99;
    // An unknown id replays nothing.
    CHECK(spool->replay_dead_letters({dead[0].id, 987654}, &replayed) == SpoolErrc::not_found);
    CHECK(replayed == 0);
    CHECK(spool->list_dead_letters(100, false).size() == 3);

    CHECK(spool->replay_dead_letters({dead[0].id}, &replayed) == std::error_code{});
    CHECK(replayed == 1);
    auto back = spool->lease_due("wk", now_ms(), 10);
    REQUIRE(back.size() == 1);
    CHECK(back[0].body == b1.body);
    CHECK(back[0].events == 2);
    CHECK(back[0].created_ms == 11);
    CHECK(back[0].attempts == 0);
    CHECK(back[0].last_error.empty());
    CHECK(back[0].request_id.empty());
    CHECK(back[0].next_attempt_ms <= now_ms());
    CHECK(spool->bytes_used() == b1.body.size());

    CHECK(spool->replay_dead_letters({}, &replayed) == std::error_code{});
    CHECK(replayed == 2);
    CHECK(spool->list_dead_letters(100, false).empty());
    const auto st = spool->stats();
    CHECK(st.batches == 3);
    CHECK(st.events == 9);
    CHECK(st.bytes == b1.body.size() + b2.body.size() + b3.body.size());
    CHECK(spool->bytes_used() == st.bytes);
    CHECK(st.dead_letters == 0);
    CHECK(spool->replay_dead_letters({}, &replayed) == std::error_code{});
    CHECK(replayed == 0);
}

TEST_CASE("purge removes dead letters or batches, and only those", "[spool]") {
    TempDir tmp;
    auto spool = open_ok(config_for(tmp.file("spool.db")));
    const auto ids = append_ok(*spool, {batch("wk", 1), batch("wk", 2), batch("wk", 3)});
    REQUIRE(spool->dead_letter(ids[0], 413, "too large") == std::error_code{});
    REQUIRE(spool->lease_due("wk", now_ms(), 1).size() == 1);
    std::size_t purged = 0;
    CHECK(spool->purge_dead_letters(&purged) == std::error_code{});
    CHECK(purged == 1);
    CHECK(spool->stats().dead_letters == 0);
    CHECK(spool->stats().batches == 2);
    REQUIRE(spool->dead_letter(ids[1], 400, "bad") == std::error_code{});
    CHECK(spool->purge_batches(&purged) == std::error_code{});
    CHECK(purged == 1);
    const auto st = spool->stats();
    CHECK(st.batches == 0);
    CHECK(st.bytes == 0);
    CHECK(st.oldest_created_ms == 0);
    CHECK(st.dead_letters == 1);
    CHECK(spool->bytes_used() == 0);
    CHECK(spool->leased_count() == 0);
}

TEST_CASE("reopen keeps every batch and dead letter; leases are released", "[spool]") {
    TempDir tmp;
    const auto cfg = config_for(tmp.file("spool.db"));
    const auto b1 = batch("wk", 2, 10, "r1");
    const auto b2 = batch("wk", 3, 20, "r2");
    std::vector<std::int64_t> ids;
    lsr::server::SpoolStats before;
    {
        auto spool = open_ok(cfg);
        ids = append_ok(*spool, {b1, b2, batch("wk", 1)});
        REQUIRE(spool->reschedule(ids[1], 12345, "timeout") == std::error_code{});
        REQUIRE(spool->dead_letter(ids[2], 400, "bad event") == std::error_code{});
        REQUIRE(spool->lease_due("wk", now_ms(), 10).size() == 2);
        before = spool->stats();
    }
    auto spool = open_ok(cfg);
    const auto after = spool->stats();
    CHECK(after.batches == before.batches);
    CHECK(after.events == before.events);
    CHECK(after.bytes == before.bytes);
    CHECK(after.dead_letters == 1);
    CHECK(after.oldest_created_ms == 10);
    CHECK(spool->bytes_used() == before.bytes);
    CHECK(spool->leased_count() == 0);
    auto leased = spool->lease_due("wk", now_ms(), 10);
    REQUIRE(leased.size() == 2);
    CHECK(leased[0].id == ids[0]);
    CHECK(leased[0].body == b1.body);
    CHECK(leased[1].id == ids[1]);
    CHECK(leased[1].attempts == 1);
    CHECK(leased[1].last_error == "timeout");
    CHECK(leased[1].next_attempt_ms == 12345);
    CHECK(spool->list_dead_letters(10, false).at(0).reason == "bad event");
    // Ids keep growing across restarts: a delivered id is never reused.
    auto more = append_ok(*spool, {batch("wk", 1)});
    CHECK(more[0] > ids[2]);
}

TEST_CASE("a file that is not a database is refused as corrupt, untouched, with the way out", "[spool]") {
    TempDir tmp;
    const std::string path = tmp.file("spool.db");
    const std::string garbage(5000, 'x');
    write_file(path, garbage);
    auto r = try_open(config_for(path));
    CHECK(r.spool == nullptr);
    CHECK(r.ec == SpoolErrc::corrupt);
    CHECK(r.message.find(path) != std::string::npos);
    CHECK(r.message.find("mv " + path + " " + path + ".corrupt-") != std::string::npos);
    CHECK(r.message.find("empty spool") != std::string::npos);
    CHECK(r.message.find("spool salvage --from") != std::string::npos);
    CHECK(read_file(path) == garbage);
    CHECK(!fs::exists(path + "-wal"));
    CHECK(!fs::exists(path + "-shm"));
    // Asking again gives the same answer: nothing loops, nothing changes.
    CHECK(try_open(config_for(path)).ec == SpoolErrc::corrupt);
}

TEST_CASE("a truncated spool is refused as corrupt", "[spool]") {
    TempDir tmp;
    const std::string path = tmp.file("spool.db");
    {
        auto spool = open_ok(config_for(path));
        std::vector<NewBatch> many;
        for (int i = 0; i < 40; ++i) many.push_back(batch("wk", 2000, i));
        append_ok(*spool, many);
    }
    REQUIRE(!fs::exists(path + "-wal"));  // checkpointed at close
    const auto size = fs::file_size(path);
    REQUIRE(size > 1'000'000);
    SECTION("to half its size") {
        fs::resize_file(path, size / 2);
    }
    SECTION("to a few bytes") {
        fs::resize_file(path, 60);
    }
    SECTION("to its last page missing") {
        fs::resize_file(path, size - 65536);
    }
    auto r = try_open(config_for(path));
    INFO(r.message);
    CHECK(r.spool == nullptr);
    CHECK(r.ec == SpoolErrc::corrupt);
    CHECK(r.message.find(path) != std::string::npos);
    CHECK(r.message.find("mv ") != std::string::npos);
}

TEST_CASE("a spool with overwritten pages is refused as corrupt", "[spool]") {
    TempDir tmp;
    const std::string path = tmp.file("spool.db");
    {
        auto spool = open_ok(config_for(path));
        std::vector<NewBatch> many;
        for (int i = 0; i < 20; ++i) many.push_back(batch("wk", 2000, i));
        append_ok(*spool, many);
    }
    std::string bytes = read_file(path);
    REQUIRE(bytes.size() > 3 * 65536);
    // Scribble over the second page (the batches table's root) and beyond.
    for (std::size_t i = 65536; i < 65536 + 4096; ++i) bytes[i] = static_cast<char>(0xA5);
    write_file(path, bytes);
    auto r = try_open(config_for(path));
    INFO(r.message);
    CHECK(r.spool == nullptr);
    CHECK(r.ec == SpoolErrc::corrupt);
    CHECK(r.message.find(path) != std::string::npos);
}

TEST_CASE("an unknown schema version or a foreign database is refused", "[spool]") {
    TempDir tmp;
    const std::string path = tmp.file("spool.db");
    SECTION("newer schema version") {
        { open_ok(config_for(path)); }
        REQUIRE(std::system(("sqlite3 '" + path + "' 'PRAGMA user_version=7' >/dev/null").c_str()) == 0);
        auto r = try_open(config_for(path));
        CHECK(r.spool == nullptr);
        CHECK(r.ec == SpoolErrc::corrupt);
        CHECK(r.message.find("schema version 7") != std::string::npos);
    }
    SECTION("another application's database") {
        REQUIRE(std::system(("sqlite3 '" + path + "' 'CREATE TABLE t(x)' >/dev/null").c_str()) == 0);
        auto r = try_open(config_for(path));
        CHECK(r.spool == nullptr);
        CHECK(r.ec == SpoolErrc::corrupt);
        CHECK(r.message.find("not a relay spool") != std::string::npos);
    }
}

TEST_CASE("an empty file becomes a new spool", "[spool]") {
    TempDir tmp;
    const std::string path = tmp.file("spool.db");
    write_file(path, "");
    auto spool = open_ok(config_for(path));
    append_ok(*spool, {batch("wk", 1)});
    CHECK(spool->stats().batches == 1);
}

TEST_CASE("open without create does not invent a spool", "[spool]") {
    TempDir tmp;
    const std::string path = tmp.file("missing/spool.db");
    lsr::server::SpoolOpenOptions options;
    options.create = false;
    auto r = try_open(config_for(path), options);
    CHECK(r.spool == nullptr);
    CHECK(r.ec == SpoolErrc::not_found);
    CHECK(r.message.find(path) != std::string::npos);
    CHECK(!fs::exists(path));
    CHECK(!fs::exists(tmp.file("missing")));
}

TEST_CASE("open reports a path it cannot use", "[spool]") {
    TempDir tmp;
    SECTION("a directory") {
        fs::create_directories(tmp.file("dir.db"));
        auto r = try_open(config_for(tmp.file("dir.db")));
        CHECK(r.spool == nullptr);
        CHECK(r.ec == SpoolErrc::io);
        CHECK(r.message.find("dir.db") != std::string::npos);
    }
    SECTION("an empty path") {
        auto r = try_open(config_for(""));
        CHECK(r.spool == nullptr);
        CHECK(r.ec == SpoolErrc::io);
    }
    SECTION("a parent that is a file") {
        write_file(tmp.file("plain"), "x");
        auto r = try_open(config_for(tmp.file("plain/spool.db")));
        CHECK(r.spool == nullptr);
        CHECK(r.ec == SpoolErrc::io);
        CHECK(r.message.find("plain") != std::string::npos);
    }
}

TEST_CASE("a second connection's changes are seen by the running spool", "[spool]") {
    TempDir tmp;
    const auto b = batch("wk", 4000);
    const auto cfg = config_for(tmp.file("spool.db"), kSmallSpool);
    auto relay = open_ok(cfg);
    REQUIRE(fill(*relay, b) >= 1);
    CHECK(relay->append({b}, nullptr) == SpoolErrc::full);
    {
        auto tool = open_ok(cfg);  // e.g. `spool purge --batches` while the relay runs
        REQUIRE(tool->purge_batches(nullptr) == std::error_code{});
    }
    CHECK(relay->bytes_used() == 0);
    CHECK(relay->append({b}, nullptr) == std::error_code{});
}

TEST_CASE("synchronous NORMAL opens and keeps data too", "[spool]") {
    TempDir tmp;
    auto cfg = config_for(tmp.file("spool.db"));
    cfg.synchronous_full = false;
    {
        auto spool = open_ok(cfg);
        append_ok(*spool, {batch("wk", 2)});
    }
    CHECK(open_ok(cfg)->stats().batches == 1);
}

TEST_CASE("the spool is safe to use from several threads", "[spool]") {
    TempDir tmp;
    auto spool = open_ok(config_for(tmp.file("spool.db")));
    constexpr int kPerThread = 50;
    std::vector<std::thread> threads;
    std::atomic<int> failures{0};  // Catch2's assertions are not thread-safe: count, check after
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            const std::string key = "wk" + std::to_string(t);
            for (int i = 0; i < kPerThread; ++i) {
                std::vector<std::int64_t> ids;
                if (spool->append({batch(key, 3)}, &ids)) ++failures;
                auto leased = spool->lease_due(key, now_ms(), 1);
                if (!leased.empty() && spool->mark_delivered(leased[0].id)) ++failures;
            }
        });
    }
    for (auto& th : threads) th.join();
    CHECK(failures.load() == 0);
    const auto st = spool->stats();
    CHECK(st.batches == 0);
    CHECK(st.bytes == 0);
    CHECK(spool->bytes_used() == 0);
}

TEST_CASE("spool error codes have readable messages", "[spool]") {
    CHECK(std::string(lsr::server::spool_category().name()) == "spool");
    CHECK(std::error_code(SpoolErrc::corrupt).message().find("not a valid") != std::string::npos);
    CHECK(std::error_code(SpoolErrc::not_found).message().find("no such") != std::string::npos);
    CHECK(std::error_code(SpoolErrc::io).message().find("error") != std::string::npos);
}

TEST_CASE("append_dead_letters stores dead letters as given", "[spool]") {
    TempDir tmp;
    auto spool = open_ok(config_for(tmp.file("spool.db")));
    DeadLetter d;
    d.write_key = "wk";
    d.events = 2;
    d.status = 400;
    d.reason = "bad";
    d.created_ms = 5;
    d.dead_ms = 6;
    d.attempts = 3;
    d.body = "{},\n{}";
    CHECK(spool->append_dead_letters({d, d}) == std::error_code{});
    auto listed = spool->list_dead_letters(10, true);
    REQUIRE(listed.size() == 2);
    CHECK(listed[1].body == d.body);
    CHECK(listed[1].attempts == 3);
    CHECK(listed[1].created_ms == 5);
    CHECK(listed[1].dead_ms == 6);
    CHECK(spool->stats().batches == 0);
}

TEST_CASE("salvage copies every batch and dead letter of an intact spool", "[spool][salvage]") {
    TempDir tmp;
    const std::string old_path = tmp.file("old.db");
    std::vector<NewBatch> originals;
    for (int i = 0; i < 10; ++i) originals.push_back(batch("wk" + std::to_string(i % 3), 5 + i, 100 + i));
    SECTION("closed cleanly") {
        {
            auto old_spool = open_ok(config_for(old_path));
            const auto ids = append_ok(*old_spool, originals);
            REQUIRE(old_spool->dead_letter(ids[9], 400, "bad event") == std::error_code{});
        }
        REQUIRE(!fs::exists(old_path + "-wal"));
    }
    SECTION("still open, rows in its WAL") {
        auto old_spool = open_ok(config_for(old_path));
        const auto ids = append_ok(*old_spool, originals);
        REQUIRE(old_spool->dead_letter(ids[9], 400, "bad event") == std::error_code{});
        REQUIRE(fs::file_size(old_path + "-wal") > 0);
        const std::string before = read_file(old_path);
        auto fresh = open_ok(config_for(tmp.file("new-live.db")));
        const auto report = SpoolSalvage::run(old_path, *fresh);
        INFO(report.error << report.notes);
        CHECK(report.batches == 9);
        CHECK(report.dead_letters == 1);
        CHECK(read_file(old_path) == before);  // the old file is only read
    }
    auto fresh = open_ok(config_for(tmp.file("new.db")));
    const auto report = SpoolSalvage::run(old_path, *fresh);
    INFO(report.error << report.notes);
    CHECK(report.error.empty());
    CHECK(report.complete);
    CHECK(report.batches == 9);
    CHECK(report.unreadable == 0);
    CHECK(report.dead_letters == 1);
    std::size_t events = 0;
    for (int i = 0; i < 9; ++i) events += originals[static_cast<std::size_t>(i)].events;
    CHECK(report.events == events);
    const auto st = fresh->stats();
    CHECK(st.batches == 9);
    CHECK(st.events == events);
    CHECK(st.dead_letters == 1);
    std::vector<SpoolBatch> all;
    for (const char* key : {"wk0", "wk1", "wk2"}) {
        for (auto& b : fresh->lease_due(key, now_ms(), 100)) all.push_back(std::move(b));
    }
    REQUIRE(all.size() == 9);
    std::sort(all.begin(), all.end(),
              [](const auto& a, const auto& b) { return a.created_ms < b.created_ms; });
    for (std::size_t i = 0; i < all.size(); ++i) {
        CHECK(all[i].body == originals[i].body);
        CHECK(all[i].write_key == originals[i].write_key);
        CHECK(all[i].created_ms == originals[i].created_ms);
    }
    const auto dead = fresh->list_dead_letters(10, true);
    REQUIRE(dead.size() == 1);
    CHECK(dead[0].body == originals[9].body);
    CHECK(dead[0].reason == "bad event");
    CHECK(dead[0].status == 400);
}

TEST_CASE("salvage copies what is readable from a damaged spool and says what it skipped",
          "[spool][salvage]") {
    TempDir tmp;
    const std::string old_path = tmp.file("old.db");
    {
        auto old_spool = open_ok(config_for(old_path));
        std::vector<NewBatch> many;
        for (int i = 0; i < 40; ++i) many.push_back(batch("wk", 2000, i));
        append_ok(*old_spool, many);
    }
    std::string bytes = read_file(old_path);
    const std::size_t pages = bytes.size() / 65536;
    REQUIRE(pages > 40);
    // Scribble over the header of a table leaf page in the middle (page type 0x0D): the
    // batches on it can no longer be read, the others can.
    std::size_t page = pages / 2;
    while (page < pages && bytes[page * 65536] != 0x0D) ++page;
    REQUIRE(page < pages);
    for (std::size_t i = page * 65536; i < page * 65536 + 8; ++i) bytes[i] = static_cast<char>(0xA5);
    write_file(old_path, bytes);
    REQUIRE(try_open(config_for(old_path)).ec == SpoolErrc::corrupt);

    auto fresh = open_ok(config_for(tmp.file("new.db")));
    const auto report = SpoolSalvage::run(old_path, *fresh);
    INFO(report.error << " / " << report.notes);
    CHECK(report.error.empty());
    CHECK(report.batches >= 30);
    CHECK(report.batches < 40);
    CHECK(!report.complete);
    CHECK(report.unreadable >= 1);
    CHECK(!report.notes.empty());
    CHECK(fresh->stats().batches == report.batches);
}

TEST_CASE("salvage refuses garbage, a missing file and its own destination", "[spool][salvage]") {
    TempDir tmp;
    auto fresh = open_ok(config_for(tmp.file("new.db")));
    write_file(tmp.file("garbage.db"), std::string(10000, 'z'));
    auto report = SpoolSalvage::run(tmp.file("garbage.db"), *fresh);
    CHECK(report.batches == 0);
    CHECK(!report.complete);
    CHECK(!report.notes.empty());
    report = SpoolSalvage::run(tmp.file("missing.db"), *fresh);
    CHECK(!report.error.empty());
    report = SpoolSalvage::run(tmp.file("new.db"), *fresh);
    CHECK(report.error.find("same file") != std::string::npos);
}

TEST_CASE("salvage stops when the destination is full, keeping what it copied", "[spool][salvage]") {
    TempDir tmp;
    const std::string old_path = tmp.file("old.db");
    const auto b = batch("wk", 300);
    {
        auto old_spool = open_ok(config_for(old_path));
        std::vector<NewBatch> many(80, b);
        append_ok(*old_spool, many);
    }
    auto fresh = open_ok(config_for(tmp.file("new.db"), 1024 * 1024));
    const auto report = SpoolSalvage::run(old_path, *fresh);
    CHECK(report.error.find("full") != std::string::npos);
    CHECK(!report.complete);
    CHECK(report.batches > 0);
    CHECK(report.batches < 80);
    CHECK(report.batches % 16 == 0);                  // whole groups only
    CHECK(fresh->stats().batches == report.batches);  // what it reports is what it copied
}

TEST_CASE("what append returned survives a SIGKILL of the process", "[spool]") {
    TempDir tmp;
    const auto cfg = config_for(tmp.file("spool.db"));
    const auto b = batch("wk", 100);
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        // The child appends, settles one batch, and is killed without closing anything.
        std::error_code ec;
        std::string message;
        auto spool = Spool::open(cfg, ec, message);
        if (!spool) ::_exit(3);
        std::vector<std::int64_t> ids;
        for (int i = 0; i < 5; ++i) {
            if (spool->append({b, b}, &ids)) ::_exit(4);
        }
        if (spool->mark_delivered(ids[0])) ::_exit(5);
        ::raise(SIGKILL);
        ::_exit(6);
    }
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    REQUIRE(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGKILL);
    auto spool = open_ok(cfg);
    const auto st = spool->stats();
    CHECK(st.batches == 9);
    CHECK(st.bytes == 9 * b.body.size());
    CHECK(spool->bytes_used() == st.bytes);
    const auto leased = spool->lease_due("wk", now_ms(), 100);
    REQUIRE(leased.size() == 9);
    for (const auto& l : leased) CHECK(l.body == b.body);
}
