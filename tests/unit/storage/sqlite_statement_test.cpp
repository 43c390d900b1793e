#include "server/storage/sqlite_statement.hpp"

#include <sqlite3.h>

#include <catch2/catch.hpp>
#include <string>

using lsr::server::SqliteStatement;
using lsr::server::StatementReset;

namespace {

struct MemoryDb {
    sqlite3* db = nullptr;
    MemoryDb() { REQUIRE(sqlite3_open(":memory:", &db) == SQLITE_OK); }
    ~MemoryDb() { sqlite3_close_v2(db); }
    MemoryDb(const MemoryDb&) = delete;
    MemoryDb& operator=(const MemoryDb&) = delete;
};

}  // namespace

TEST_CASE("SqliteStatement binds, steps, reads and resets", "[sqlite]") {
    MemoryDb m;
    REQUIRE(sqlite3_exec(m.db, "CREATE TABLE t (n INTEGER, s TEXT, b BLOB)", nullptr, nullptr, nullptr) ==
            SQLITE_OK);
    SqliteStatement insert;
    REQUIRE(insert.prepare(m.db, "INSERT INTO t VALUES (?1, ?2, ?3)") == SQLITE_OK);
    REQUIRE(insert.valid());
    const std::string blob("a\0b,\nc", 6);
    for (int i = 0; i < 3; ++i) {
        // Bound without a copy: the values outlive the step.
        const std::string text = i == 0 ? std::string() : "text" + std::to_string(i);
        const std::string bytes = i == 0 ? std::string() : blob;
        StatementReset reset(insert);
        insert.bind_int64(1, i);
        insert.bind_text(2, text);
        insert.bind_blob(3, bytes);
        REQUIRE(insert.step() == SQLITE_DONE);
    }

    SqliteStatement select;
    REQUIRE(select.prepare(m.db, "SELECT n, s, b, NULL FROM t ORDER BY n") == SQLITE_OK);
    REQUIRE(select.step() == SQLITE_ROW);
    CHECK(select.column_int64(0) == 0);
    CHECK(!select.column_is_null(1));  // '' and not NULL
    CHECK(select.column_string(1).empty());
    CHECK(!select.column_is_null(2));
    CHECK(select.column_view(2).empty());
    CHECK(select.column_is_null(3));
    REQUIRE(select.step() == SQLITE_ROW);
    CHECK(select.column_string(1) == "text1");
    CHECK(select.column_string(2) == blob);
    select.reset();
    REQUIRE(select.step() == SQLITE_ROW);  // from the start again
    CHECK(select.column_int64(0) == 0);
    select.reset();

    SqliteStatement moved(std::move(select));
    CHECK(moved.valid());
    CHECK(!select.valid());  // NOLINT(bugprone-use-after-move): moved-from state is documented
    REQUIRE(moved.step() == SQLITE_ROW);
    moved = SqliteStatement();
    CHECK(!moved.valid());
}

TEST_CASE("SqliteStatement reports a bad statement", "[sqlite]") {
    MemoryDb m;
    SqliteStatement bad;
    CHECK(bad.prepare(m.db, "SELECT FROM nowhere") != SQLITE_OK);
    CHECK(!bad.valid());
    bad.reset();  // harmless on an empty statement
}
