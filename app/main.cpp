// looker-segment-relay: one binary, one subcommand per job. Each subcommand lives in its
// own app/<name>_command.cpp; this file only dispatches.
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "app/check_config_command.hpp"
#include "app/preview_command.hpp"
#include "app/runs_command.hpp"
#include "app/serve_command.hpp"
#include "app/spool_command.hpp"
#include "app/sync_command.hpp"
#include "app/token_command.hpp"

namespace {

constexpr const char* usage =
    "usage: looker-segment-relay <command> [options]\n"
    "\n"
    "commands:\n"
    "  serve [--config FILE]          run the relay (embedded defaults without a file)\n"
    "  check-config FILE              list every problem of a configuration file, with lines\n"
    "  preview [options] FILE         show the events a payload would become; sends nothing\n"
    "                                 (--mode hub|default, --action segment_event|segment_track|\n"
    "                                 segment_group, --event NAME, --format F, --config FILE,\n"
    "                                 --webhook NAME, --webhook-id ID, --result RESULT_FILE)\n"
    "  token [--config FILE]          print a new signed hub token for the configured secret\n"
    "  spool <stats|dead-letters|replay|purge|salvage> [--config FILE | --spool PATH]\n"
    "                                 inspect the spool, list/replay/purge dead letters\n"
    "  spool drain [--config FILE] [--timeout S]\n"
    "                                 deliver everything queued, accept nothing, then exit\n"
    "                                 (needs the spool's lock: not beside a running relay)\n"
    "  runs [--config FILE | --spool PATH] [--json] [--limit N] [--before ID] [ID]\n"
    "                                 the run history: each execute's sync mode, counts,\n"
    "                                 answer and delivery (--json: as GET /runs)\n"
    "  sync list [--json] [--config FILE | --spool PATH]\n"
    "                                 cohort sync's baselines (one per schedule and write key)\n"
    "  sync reset ID [--config FILE | --spool PATH]\n"
    "                                 delete a baseline: that schedule's next run is a first run\n"
    "  version                        print the version\n"
    "\n"
    "Secrets come from the environment: RELAY_HUB_SECRET, RELAY_HUB_TOKENS,\n"
    "RELAY_SEGMENT_WRITE_KEY, RELAY_WEBHOOK_TOKEN_<NAME>, RELAY_WEBHOOK_WRITE_KEY_<NAME>.\n"
    "The environment also overrides RELAY_LISTEN and RELAY_ADMIN_LISTEN (host:port),\n"
    "RELAY_SPOOL_PATH and RELAY_SEGMENT_ENDPOINT.\n";

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    const std::string command = args.empty() ? "serve" : args.front();
    if (!args.empty()) args.erase(args.begin());

    if (command == "serve") return lsr::app::run_serve(args);
    if (command == "check-config") return lsr::app::run_check_config(args);
    if (command == "preview") return lsr::app::run_preview(args);
    if (command == "token") return lsr::app::run_token(args);
    if (command == "spool") return lsr::app::run_spool(args);
    if (command == "runs") return lsr::app::run_runs(args);
    if (command == "sync") return lsr::app::run_sync(args);
    if (command == "version" || command == "--version") {
        std::cout << "looker-segment-relay " LSR_VERSION "\n";
        return 0;
    }
    if (command == "help" || command == "--help" || command == "-h") {
        std::cout << usage;
        return 0;
    }
    std::cerr << "unknown command \"" << command << "\"\n" << usage;
    return 2;
}
