// Why Spool::open refused, as the operator reads it: the code and a text that names the
// file and, where there is one, the way out.
#pragma once

#include <string>

#include "server/storage/spool_error_category.hpp"

namespace lsr::server {

struct SpoolOpenFailure {
    SpoolErrc errc = SpoolErrc::io;
    std::string message;
};

}  // namespace lsr::server
