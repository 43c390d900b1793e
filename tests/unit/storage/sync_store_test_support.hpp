// What the sync store's tests share: members with spread hashes, stages, held batches, runs.
#pragma once

#include <sqlite3.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "server/storage/sync_store.hpp"
#include "spool_test_support.hpp"

namespace lsr::server::sync_test {

struct Member {
    std::uint64_t content = 0;
    std::string identity;
};
using Members = std::map<std::uint64_t, Member>;

// splitmix64: hashes spread over the whole 64-bit range (half of them negative as int64).
inline std::uint64_t mix(std::uint64_t x) {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

// Members first..first+n-1: id hash, content hash (varies with `salt`) and identity text.
inline Members members(std::uint64_t first, std::uint64_t n, std::uint64_t salt) {
    Members out;
    for (std::uint64_t i = first; i < first + n; ++i) {
        out[mix(i)] = Member{mix(i * 1000003 + salt), R"({"userId":"user-)" + std::to_string(i) + R"("})"};
    }
    return out;
}

inline std::vector<StagedRow> staged(const Members& rows, StagedChange change) {
    std::vector<StagedRow> out;
    out.reserve(rows.size());
    for (const auto& [hash, m] : rows) out.push_back({hash, m.content, m.identity, change});
    return out;
}

inline std::map<std::uint64_t, std::uint64_t> as_map(const Members& rows) {
    std::map<std::uint64_t, std::uint64_t> out;
    for (const auto& [hash, m] : rows) out[hash] = m.content;
    return out;
}

inline std::uint64_t identity_bytes(const Members& rows) {
    std::uint64_t n = 0;
    for (const auto& [hash, m] : rows) n += m.identity.size();
    return n;
}

inline std::map<std::uint64_t, std::uint64_t> loaded(SyncStore& store, std::int64_t id) {
    std::map<std::uint64_t, std::uint64_t> out;
    std::size_t calls = 0;
    REQUIRE_FALSE(store.load_members(id, [&](std::uint64_t h, std::uint64_t c) {
        out[h] = c;
        ++calls;
    }));
    CHECK(calls == out.size());
    return out;
}

inline BaselineKey key_of(const std::string& plan_id, const std::string& write_key = "wk") {
    return BaselineKey{"looker.example.com", plan_id, "segment_audience", write_key};
}

inline RunRecord running(const std::string& request_id, std::int64_t received_ms) {
    RunRecord r;
    r.request_id = request_id;
    r.received_ms = received_ms;
    r.instance = "looker.example.com";
    r.plan_id = "plan-1";
    r.title = "Churn risk";
    r.action = "segment_audience";
    r.sync_mode = "audience";
    return r;
}

inline RunCommit commit_of(std::int64_t run_id, std::int64_t baseline_id, const BaselineKey& key,
                           std::int64_t generation, std::uint64_t members, std::vector<std::int64_t> release,
                           std::int64_t now_ms) {
    RunCommit c;
    c.run_id = run_id;
    c.baseline_id = baseline_id;
    c.key = key;
    c.title = "Churn risk";
    c.mode = "audience";
    c.generation = generation;
    c.members = members;
    c.release = std::move(release);
    c.now_ms = now_ms;
    return c;
}

// `n` held batches of one event each.
inline std::vector<std::int64_t> append_held(Spool& spool, const std::string& key, std::size_t n,
                                             const std::string& request_id) {
    std::vector<NewBatch> batches;
    for (std::size_t i = 0; i < n; ++i) {
        NewBatch b = spool_test::batch(key, 1, 1000 + static_cast<std::int64_t>(i), request_id);
        b.held = true;
        batches.push_back(std::move(b));
    }
    return spool_test::append_ok(spool, batches);
}

// One value of `sql` read through a connection of its own.
inline std::int64_t query_on(const std::string& path, const std::string& sql) {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
    sqlite3_stmt* stmt = nullptr;
    std::int64_t value = -1;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW)
        value = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    INFO(sql);
    REQUIRE(value >= 0);
    return value;
}

inline std::int64_t stage_rows(const std::string& path) {
    return query_on(path, "SELECT count(*) FROM sync_stage");
}

// A schedule's first run with `rows`, committed (generation 1); the baseline's id.
inline std::int64_t first_run(SyncStore& store, const BaselineKey& key, const Members& rows,
                              std::int64_t now_ms) {
    RunRecord run = running("req-first-" + key.plan_id, now_ms);
    REQUIRE_FALSE(store.begin_run(run));
    REQUIRE_FALSE(store.stage(run.id, staged(rows, StagedChange::added)));
    std::int64_t id = 0;
    REQUIRE_FALSE(store.commit_run(commit_of(run.id, 0, key, 1, rows.size(), {}, now_ms), &id));
    return id;
}

}  // namespace lsr::server::sync_test
