#include "app/spool_command.hpp"

#include "app/spool_command_line.hpp"
#include "app/spool_drain_command.hpp"
#include "app/spool_purge_command.hpp"
#include "app/spool_replay_command.hpp"
#include "app/spool_salvage_command.hpp"
#include "app/spool_stats_command.hpp"
#include "core/clock.hpp"
#include "server/storage/spool.hpp"

namespace lsr::app {

int run_spool(const std::vector<std::string>& args) {
    SpoolCommandLine o;
    if (const auto code = SpoolCommandLine::parse(args, o)) return *code;
    if (o.command == "salvage") return run_spool_salvage(o);
    if (o.command == "drain") return run_spool_drain(o);

    const auto cfg = o.spool_config(std::nullopt);
    if (!cfg) return 1;
    // Tools never create a spool: a wrong path is an error, not a new empty file.
    auto spool = open_tool_spool(*cfg, false);
    if (!spool) return 1;
    const core::Clock& clock = core::Clock::system();
    if (o.command == "stats") return run_spool_stats(*spool, o, clock);
    if (o.command == "dead-letters") return run_spool_dead_letters(*spool, o, clock);
    if (o.command == "replay") return run_spool_replay(*spool, o);
    return run_spool_purge(*spool, o);
}

}  // namespace lsr::app
