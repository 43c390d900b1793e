// A prepared SQLite statement owned by RAII, for connections that keep their statements
// for their whole life (the Spool). Not thread-safe: the owner serialises use.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

struct sqlite3;
struct sqlite3_stmt;

namespace lsr::server {

class SqliteStatement {
  public:
    SqliteStatement() = default;
    ~SqliteStatement();
    SqliteStatement(SqliteStatement&& other) noexcept;
    SqliteStatement& operator=(SqliteStatement&& other) noexcept;
    SqliteStatement(const SqliteStatement&) = delete;
    SqliteStatement& operator=(const SqliteStatement&) = delete;

    // Prepares `sql` (one statement) for repeated use. Returns the SQLite result code;
    // on failure the statement stays empty.
    int prepare(sqlite3* db, std::string_view sql);
    bool valid() const { return stmt_ != nullptr; }
    sqlite3_stmt* get() const { return stmt_; }

    // Binds are 1-based, as in SQLite. Text and blobs are bound without a copy: the
    // caller keeps them alive until the statement is reset.
    void bind_int64(int index, std::int64_t value);
    void bind_text(int index, std::string_view value);
    void bind_blob(int index, std::string_view value);

    // SQLITE_ROW, SQLITE_DONE or an error code.
    int step();
    // Resets for the next use and clears the bindings.
    void reset();

    std::int64_t column_int64(int index) const;
    std::string column_string(int index) const;     // text or blob, copied
    std::string_view column_view(int index) const;  // valid until the next step/reset
    bool column_is_null(int index) const;

  private:
    sqlite3_stmt* stmt_ = nullptr;
};

// Resets a statement when the scope ends, whatever path leaves it.
class StatementReset {
  public:
    explicit StatementReset(SqliteStatement& statement) : statement_(statement) {}
    ~StatementReset() { statement_.reset(); }
    StatementReset(const StatementReset&) = delete;
    StatementReset& operator=(const StatementReset&) = delete;

  private:
    SqliteStatement& statement_;
};

}  // namespace lsr::server
