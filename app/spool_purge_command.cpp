#include "app/spool_purge_command.hpp"

#include <iostream>
#include <string>

#include "core/json_out.hpp"
#include "server/storage/spool.hpp"

namespace lsr::app {

int run_spool_purge(server::Spool& spool, const SpoolCommandLine& o) {
    const auto st = spool.stats();
    const std::string what = o.dead_letters ? std::to_string(st.dead_letters) + " dead letter(s) (" +
                                                  std::to_string(st.dead_letter_events) + " events)"
                                            : std::to_string(st.batches) + " queued batch(es) (" +
                                                  std::to_string(st.events) + " events not yet delivered)";
    if (!o.yes_really) {
        std::cerr << "spool: refusing to purge without --yes-really: this deletes " << what << " from "
                  << spool.path() << " for good\n";
        return 2;
    }
    std::size_t purged = 0;
    const auto error = o.dead_letters ? spool.purge_dead_letters(&purged) : spool.purge_batches(&purged);
    if (error) return spool_error("purge failed: " + error.message() + " " + error.detail());
    if (o.json) {
        std::string out;
        core::JsonOut j(out);
        j.raw('{');
        j.key("purged");
        j.raw(std::to_string(purged));
        j.raw(',');
        j.key("table");
        j.string(o.dead_letters ? "dead_letters" : "batches");
        j.raw("}\n");
        std::cout << out;
    } else {
        std::cout << "purged " << purged << (o.dead_letters ? " dead letter(s)" : " batch(es)") << " from "
                  << spool.path() << "\n";
    }
    return 0;
}

}  // namespace lsr::app
