// What every `looker-segment-relay spool ...` subcommand shares: its parsed command line, the
// spool it names (from --config or --spool), how that spool is opened beside a running
// relay, and how errors are reported (exit codes: 0 ok, 1 error, 2 usage).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"

namespace lsr::server {
class Spool;
}

namespace lsr::app {

struct SpoolCommandLine {
    std::string command;
    std::optional<std::string> config_file;
    std::optional<std::string> spool_path;
    bool json = false;
    std::optional<std::size_t> limit;
    bool all = false;
    bool dead_letters = false;
    bool batches = false;
    bool yes_really = false;
    std::optional<std::string> from;
    std::optional<std::string> to;
    std::vector<std::int64_t> ids;
    std::optional<std::int64_t> timeout_s;  // drain only

    // Parses the words after "spool". Returns an exit code when done (help printed: 0; a
    // usage error printed: 2), nullopt when the command is to run.
    static std::optional<int> parse(const std::vector<std::string>& args, SpoolCommandLine& out);

    // The spool's settings: `path` with defaults when given, else from --config (its problems
    // printed, nullopt) or --spool.
    std::optional<config::SpoolConfig> spool_config(const std::optional<std::string>& path) const;
};

// Prints "spool: <message>" and the usage line on stderr; returns 2.
int spool_usage_error(const std::string& message);
// Prints "spool: <message>" on stderr; returns 1.
int spool_error(const std::string& message);

// Opens the spool for a tool: never takes the relay's lock (the tools work beside a running
// relay), creates it only when `create`. Prints why not and returns nullptr on failure.
std::unique_ptr<server::Spool> open_tool_spool(const config::SpoolConfig& cfg, bool create);

}  // namespace lsr::app
