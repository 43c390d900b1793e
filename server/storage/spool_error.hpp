// What a failed Spool call returns: its error code, and when SQLite refused, which step of
// the call failed and SQLite's own words for it (the connection's message and extended
// result code, read under the spool's mutex at the moment of the failure). Each call gets
// its own value: two threads whose calls fail never see each other's detail.
//
// It converts to std::error_code (callers that only test the code keep doing so) and
// compares with one. The spool writes no log (storage knows no logger): callers log
// message() and detail().
#pragma once

#include <string>
#include <system_error>

#include "server/storage/spool_error_category.hpp"

namespace lsr::server {

class SpoolError {
  public:
    SpoolError() = default;
    // An error without SQLite detail (full, low_space, not_found) or none.
    SpoolError(std::error_code code) : code_(code) {}  // NOLINT(google-explicit-constructor)
    // `operation`: the call and its step ("append: insert"); `sqlite_code`: SQLite's extended
    // result code; `sqlite_message`: the connection's message (sqlite3_errmsg).
    SpoolError(std::error_code code, std::string operation, int sqlite_code, std::string sqlite_message);

    const std::error_code& code() const { return code_; }
    explicit operator bool() const { return static_cast<bool>(code_); }
    operator std::error_code() const { return code_; }  // NOLINT(google-explicit-constructor)

    std::string message() const { return code_.message(); }  // the code's text, as error_code
    const std::string& operation() const { return operation_; }
    int sqlite_code() const { return sqlite_code_; }  // 0 when SQLite did not fail
    const std::string& sqlite_message() const { return sqlite_message_; }
    // "append: insert: database or disk is full (SQLite result code 13)", or with the
    // connection's own message first when it says more than the code's text; "" when the
    // error did not come from SQLite.
    std::string detail() const;

    friend bool operator==(const SpoolError& a, const std::error_code& b) { return a.code_ == b; }

  private:
    std::error_code code_;
    std::string operation_;
    int sqlite_code_ = 0;
    std::string sqlite_message_;
};

}  // namespace lsr::server
