#include "server/storage/spool_error.hpp"

#include <sqlite3.h>

#include <utility>

namespace lsr::server {

SpoolError::SpoolError(std::error_code code, std::string operation, int sqlite_code,
                       std::string sqlite_message)
    : code_(code),
      operation_(std::move(operation)),
      sqlite_code_(sqlite_code),
      sqlite_message_(std::move(sqlite_message)) {}

std::string SpoolError::detail() const {
    if (sqlite_code_ == 0 && sqlite_message_.empty()) return operation_;
    const std::string code_text = sqlite3_errstr(sqlite_code_);
    std::string text = operation_.empty() ? std::string() : operation_ + ": ";
    if (sqlite_message_.empty() || sqlite_message_ == code_text) {
        text += code_text + " (SQLite result code " + std::to_string(sqlite_code_) + ")";
    } else {
        text +=
            sqlite_message_ + " (" + code_text + ", SQLite result code " + std::to_string(sqlite_code_) + ")";
    }
    return text;
}

}  // namespace lsr::server
