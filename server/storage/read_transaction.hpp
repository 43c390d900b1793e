// A read transaction on the spool's connection for the life of the object (mu held): the
// statements inside it see one WAL snapshot and take the read lock once. If BEGIN fails (the
// connection is busy or already in a transaction), the statements run as they would without
// it, each in its own implicit transaction, and nothing is committed at the end.
#pragma once

#include <sqlite3.h>

#include "server/storage/spool_impl.hpp"

namespace lsr::server {

class ReadTransaction {
  public:
    explicit ReadTransaction(Spool::Impl& s) : s_(s), open_(s.begin_read() == SQLITE_OK) {}
    ~ReadTransaction() {
        if (open_) s_.rollback_if_open();
    }
    ReadTransaction(const ReadTransaction&) = delete;
    ReadTransaction& operator=(const ReadTransaction&) = delete;

  private:
    Spool::Impl& s_;
    bool open_;
};

}  // namespace lsr::server
