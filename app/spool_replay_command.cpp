#include "app/spool_replay_command.hpp"

#include <iostream>
#include <limits>
#include <set>
#include <string>

#include "core/json_out.hpp"
#include "server/storage/spool.hpp"

namespace lsr::app {

namespace {

// The ids asked for that are not dead letters (any more).
std::string missing_ids(server::Spool& spool, const std::vector<std::int64_t>& ids) {
    std::set<std::int64_t> present;
    for (const auto& d : spool.list_dead_letters(std::numeric_limits<std::size_t>::max(), false)) {
        present.insert(d.id);
    }
    std::string missing;
    for (const auto id : ids) {
        if (present.contains(id)) continue;
        missing += (missing.empty() ? "" : ", ") + std::to_string(id);
    }
    return missing;
}

}  // namespace

int run_spool_replay(server::Spool& spool, const SpoolCommandLine& o) {
    std::size_t replayed = 0;
    if (auto error = spool.replay_dead_letters(o.all ? std::vector<std::int64_t>{} : o.ids, &replayed)) {
        if (error == server::SpoolErrc::not_found) {
            return spool_error("no dead letter with id " + missing_ids(spool, o.ids) +
                               "; nothing was replayed (see `spool dead-letters`)");
        }
        return spool_error("replay failed: " + error.message() + " " + error.detail());
    }
    if (o.json) {
        std::string out;
        core::JsonOut j(out);
        j.raw('{');
        j.key("replayed");
        j.raw(std::to_string(replayed));
        j.raw("}\n");
        std::cout << out;
    } else {
        std::cout << "replayed " << replayed
                  << " dead letter(s) into the queue, due now; a running relay sends them "
                  << "on its next poll\n";
    }
    return 0;
}

}  // namespace lsr::app
