#include "server/storage/spool_salvage.hpp"

#include <sqlite3.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/delivery/stored_body.hpp"
#include "server/storage/spool.hpp"
#include "server/storage/sqlite_statement.hpp"

namespace lsr::server {

namespace {

namespace fs = std::filesystem;

// Rows are copied in groups: one transaction each in the destination.
constexpr std::size_t kGroupBatches = 16;
// After a failed sequential read, ids are probed one by one up to the highest id the old
// file names; this bounds that probe (a spool does not hand out more ids than this in years).
constexpr std::int64_t kMaxProbe = 50'000'000;

struct Source {
    sqlite3* db = nullptr;
    fs::path copy_dir;  // private copy when the old file had a WAL
    Source() = default;
    Source(const Source&) = delete;
    Source& operator=(const Source&) = delete;
    ~Source() {
        if (db != nullptr) sqlite3_close_v2(db);
        if (!copy_dir.empty()) {
            std::error_code ec;
            fs::remove_all(copy_dir, ec);
        }
    }
};

// Concatenation by appends: GCC 12 reports false array-bounds errors on long operator+ chains.
std::string cat(std::initializer_list<std::string_view> parts) {
    std::string out;
    for (const auto part : parts) out.append(part);
    return out;
}

std::string errmsg(sqlite3* db, int rc) {
    std::string text = sqlite3_errstr(rc);
    if (db != nullptr && sqlite3_errmsg(db) != nullptr && text != sqlite3_errmsg(db)) {
        text += " (" + std::string(sqlite3_errmsg(db)) + ")";
    }
    return text;
}

// Opens the old file without writing to it. A -wal beside it holds committed rows too;
// recovering them needs write access, so the pair is copied and the copy opened.
bool open_source(const std::string& from, Source& src, std::string& error) {
    std::error_code ec;
    if (!fs::is_regular_file(from, ec)) {
        error = "no readable file at " + from;
        return false;
    }
    std::string target = from;
    int flags = SQLITE_OPEN_READONLY | SQLITE_OPEN_URI;
    const fs::path wal = from + "-wal";
    if (fs::exists(wal, ec) && fs::file_size(wal, ec) > 0) {
        std::string tmpl = (fs::path(from).parent_path() / ".lsr-salvage-XXXXXX").string();
        if (fs::path(from).parent_path().empty()) tmpl = ".lsr-salvage-XXXXXX";
        if (::mkdtemp(tmpl.data()) == nullptr) {
            error = "cannot create a working copy beside " + from + " (to read its -wal file)";
            return false;
        }
        src.copy_dir = tmpl;
        const fs::path copy = src.copy_dir / "spool.db";
        fs::copy_file(from, copy, ec);
        if (!ec) fs::copy_file(wal, copy.string() + "-wal", ec);
        if (ec) {
            error = "cannot copy " + from + " and its -wal file: " + ec.message();
            return false;
        }
        target = copy.string();
        flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_URI;
    } else {
        // No WAL: read the file as it is, without locks or a -shm file.
        target = "file:" + from + "?immutable=1";
        for (const char c : from) {
            if (c == '?' || c == '#' || c == '%') {  // would need URI escaping: read it plainly
                target = from;
                flags = SQLITE_OPEN_READONLY;
                break;
            }
        }
    }
    const int rc = sqlite3_open_v2(target.c_str(), &src.db, flags, nullptr);
    if (rc != SQLITE_OK) {
        error = "cannot open " + from + ": " + errmsg(src.db, rc);
        return false;
    }
    sqlite3_extended_result_codes(src.db, 1);
    // A truncated file has fewer pages than its header names, and SQLite then refuses every
    // read ("malformed") unless the schema is writable: with it, the pages still present are
    // read and the missing ones fail alone. Salvage only reads; nothing is written.
    if (const int prc = sqlite3_exec(src.db, "PRAGMA writable_schema=ON", nullptr, nullptr, nullptr);
        prc != SQLITE_OK) {
        error = "cannot read " + from + ": " + errmsg(src.db, prc);
        return false;
    }
    return true;
}

std::int64_t highest_id(sqlite3* db, const char* table) {
    std::int64_t best = 0;
    for (const std::string& sql :
         {std::string("SELECT seq FROM sqlite_sequence WHERE name = '") + table + "'",
          std::string("SELECT MAX(id) FROM ") + table}) {
        SqliteStatement q;
        if (q.prepare(db, sql) != SQLITE_OK) continue;
        if (q.step() == SQLITE_ROW && q.column_int64(0) > best) best = q.column_int64(0);
    }
    return best;
}

// The ids in (after, up_to] that the table's indexes name, as far as they can be read.
std::set<std::int64_t> indexed_ids(sqlite3* db, const char* table, std::int64_t after, std::int64_t up_to) {
    std::set<std::int64_t> ids;
    if (std::string_view(table) != "batches") return ids;
    for (const char* index : {"batches_age", "batches_due"}) {
        SqliteStatement q;
        const std::string sql =
            cat({"SELECT id FROM batches INDEXED BY ", index, " WHERE id > ?1 AND id <= ?2"});
        if (q.prepare(db, sql) != SQLITE_OK) continue;
        q.bind_int64(1, after);
        q.bind_int64(2, up_to);
        while (q.step() == SQLITE_ROW) ids.insert(q.column_int64(0));
    }
    return ids;
}

// Reads every row of one table: first in order, and after an error by probing each id up
// to the highest known one. `take` gets a row's statement; returns false to stop (the
// destination refused).
template <typename Take>
void read_rows(sqlite3* db, const char* table, const std::string& columns, SalvageReport& report, Take take) {
    const std::string scan_sql = cat({"SELECT id, ", columns, " FROM ", table, " WHERE id > ?1 ORDER BY id"});
    const std::string one_sql = cat({"SELECT id, ", columns, " FROM ", table, " WHERE id = ?1"});
    SqliteStatement scan;
    if (int rc = scan.prepare(db, scan_sql); rc != SQLITE_OK) {
        report.notes += cat({"table ", table, " unreadable: ", errmsg(db, rc), "; "});
        ++report.unreadable;
        report.complete = false;
        return;
    }
    std::int64_t last = 0;
    std::set<std::int64_t> seen;
    scan.bind_int64(1, 0);
    int rc;
    while ((rc = scan.step()) == SQLITE_ROW) {
        last = scan.column_int64(0);
        seen.insert(last);
        if (!take(scan)) return;
    }
    // A damaged leaf can also read as empty: its rows are skipped without an error. The ids
    // an index names up to `last` and the scan did not give are counted as lost.
    std::size_t skipped = 0;
    for (const std::int64_t id : indexed_ids(db, table, 0, last))
        if (!seen.contains(id)) ++skipped;
    if (skipped != 0) {
        report.complete = false;
        report.unreadable += skipped;
        report.notes +=
            cat({table, ": ", std::to_string(skipped), " id(s) named by an index could not be read; "});
    }
    if (rc == SQLITE_DONE) return;
    report.complete = false;
    report.notes += cat({table, ": read stopped after id ", std::to_string(last), " (", errmsg(db, rc),
                         "); probing the ids after it; "});
    scan.reset();
    const std::int64_t high = highest_id(db, table);
    SqliteStatement one;
    if (one.prepare(db, one_sql) != SQLITE_OK) {
        ++report.unreadable;
        return;
    }
    const std::int64_t end = high - last > kMaxProbe ? last + kMaxProbe : high;
    // An id the table does not give back was delivered before the damage, unless an index
    // still names it: then its row was lost (a page past the end of a truncated file reads
    // as empty, not as an error).
    const std::set<std::int64_t> indexed = indexed_ids(db, table, last, end);
    std::size_t failed = 0;
    for (std::int64_t id = last + 1; id <= end; ++id) {
        StatementReset reset(one);
        one.bind_int64(1, id);
        const int step = one.step();
        if (step == SQLITE_ROW) {
            if (!take(one)) return;
        } else if (step != SQLITE_DONE || indexed.contains(id)) {
            ++failed;
        }
    }
    report.unreadable += failed;
    if (failed != 0)
        report.notes += cat({table, ": ", std::to_string(failed),
                             " id(s) could not be read (some may have been delivered before the "
                             "damage); "});
}

}  // namespace

SalvageReport SpoolSalvage::run(const std::string& from, Spool& to) {
    SalvageReport report;
    std::error_code ec;
    if (fs::exists(from, ec) && fs::exists(to.path(), ec) && fs::equivalent(from, to.path(), ec)) {
        report.error = "the source and the destination are the same file (" + from + ")";
        return report;
    }
    Source src;
    if (!open_source(from, src, report.error)) return report;
    report.complete = true;

    std::vector<NewBatch> group;
    bool stopped = false;
    std::size_t damaged = 0;
    auto flush = [&]() {
        if (group.empty()) return true;
        if (auto e = to.append(group, nullptr)) {
            report.error = "the destination refused batches: " + e.message() +
                           (e.detail().empty() ? "" : " (" + e.detail() + ")");
            stopped = true;
            return false;
        }
        for (const auto& b : group) report.events += b.events;
        report.batches += group.size();
        group.clear();
        return true;
    };
    read_rows(src.db, "batches", "write_key, events, request_id, created_ms, body", report,
              [&](const SqliteStatement& row) {
                  NewBatch b;
                  b.write_key = row.column_string(1);
                  b.events = static_cast<std::uint32_t>(row.column_int64(2));
                  b.request_id = row.column_string(3);
                  b.created_ms = row.column_int64(4);
                  b.body = row.column_string(5);
                  if (b.write_key.empty() || b.body.empty()) {
                      ++report.unreadable;
                      return true;
                  }
                  // A row of a damaged file can come back with a zero-filled tail (a page past
                  // the end of a truncated file reads as zeros): such a body is left out, never
                  // sent.
                  if (std::string why; !core::StoredBody::intact(b.body, why)) {
                      ++report.unreadable;
                      ++damaged;
                      return true;
                  }
                  group.push_back(std::move(b));
                  return group.size() < kGroupBatches || flush();
              });
    if (!stopped) flush();
    if (damaged != 0) {
        report.complete = false;
        report.notes += cat({"batches: ", std::to_string(damaged), " left out, their body damaged; "});
    }
    if (stopped) {
        report.complete = false;
        return report;
    }

    std::vector<DeadLetter> letters;
    auto flush_dead = [&]() {
        if (letters.empty()) return true;
        if (auto e = to.append_dead_letters(letters)) {
            report.error = "the destination refused dead letters: " + e.message();
            stopped = true;
            return false;
        }
        report.dead_letters += letters.size();
        letters.clear();
        return true;
    };
    read_rows(src.db, "dead_letters",
              "write_key, events, status, reason, created_ms, dead_ms, attempts, body", report,
              [&](const SqliteStatement& row) {
                  DeadLetter d;
                  d.write_key = row.column_string(1);
                  d.events = static_cast<std::uint32_t>(row.column_int64(2));
                  d.status = static_cast<int>(row.column_int64(3));
                  d.reason = row.column_string(4);
                  d.created_ms = row.column_int64(5);
                  d.dead_ms = row.column_int64(6);
                  d.attempts = static_cast<std::uint32_t>(row.column_int64(7));
                  d.body = row.column_string(8);
                  if (d.write_key.empty() || d.body.empty()) {
                      ++report.unreadable;
                      return true;
                  }
                  letters.push_back(std::move(d));
                  return letters.size() < kGroupBatches || flush_dead();
              });
    if (!stopped) flush_dead();
    if (stopped) report.complete = false;
    return report;
}

}  // namespace lsr::server
