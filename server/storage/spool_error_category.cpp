#include "server/storage/spool_error_category.hpp"

namespace lsr::server {

std::string SpoolErrorCategory::message(int value) const {
    switch (static_cast<SpoolErrc>(value)) {
        case SpoolErrc::ok:
            return "ok";
        case SpoolErrc::full:
            return "spool full: accepting this would exceed spool.max_bytes";
        case SpoolErrc::io:
            return "spool database error";
        case SpoolErrc::corrupt:
            return "spool file is not a valid spool database";
        case SpoolErrc::not_found:
            return "no such spool entry";
        case SpoolErrc::locked:
            return "spool in use by another relay";
        case SpoolErrc::low_space:
            return "low disk space: the spool's filesystem has less free space than spool.min_free_bytes";
        case SpoolErrc::conflict:
            return "the sync baseline changed since the run read it (another run of the schedule committed, "
                   "or "
                   "it was reset)";
    }
    return "unknown spool error";
}

const std::error_category& spool_category() {
    static const SpoolErrorCategory category;
    return category;
}

std::error_code make_error_code(SpoolErrc e) {
    return {static_cast<int>(e), spool_category()};
}

}  // namespace lsr::server
