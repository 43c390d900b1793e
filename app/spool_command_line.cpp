#include "app/spool_command_line.hpp"

#include <iostream>
#include <set>

#include "config/config_loader.hpp"
#include "server/storage/spool.hpp"

namespace lsr::app {

namespace {

constexpr const char* kUsage =
    "usage: looker-segment-relay spool <command> (--config FILE | --spool PATH) [options]\n"
    "\n"
    "commands:\n"
    "  stats [--json]                       batches, events and bytes queued, dead letters, oldest event\n"
    "  dead-letters [--limit N] [--json]    list dead letters: id, write key prefix, status, reason,\n"
    "                                       events, age (default limit 100)\n"
    "  replay (--all | ID...) [--json]      move dead letters back into the queue, due now\n"
    "  purge --dead-letters --yes-really    delete every dead letter for good\n"
    "  purge --batches --yes-really         delete every queued batch for good (they are never sent)\n"
    "  salvage --from OLD [--to NEW]        copy every readable batch and dead letter of a damaged\n"
    "                                       spool file OLD into the spool NEW (default: the configured\n"
    "                                       spool); OLD is only read\n"
    "  drain [--config FILE] [--timeout S]  deliver every queued batch to Segment, accept nothing, and\n"
    "                                       exit once only dead letters (or nothing) remain; progress\n"
    "                                       on stderr. Takes the relay's lock: stop the relay first\n"
    "\n"
    "  --config FILE   take the spool path from the relay's configuration (spool.path)\n"
    "  --spool PATH    the spool database file itself\n"
    "\n"
    "Every command but drain works while a relay serves the spool (they do not take its lock):\n"
    "stats and dead-letters read a snapshot; replay queues new batches the relay sends on its\n"
    "next poll; purge --batches also deletes the batches the relay is sending at that moment\n"
    "(those may still reach Segment; none is sent again or dead-lettered afterwards).\n"
    "\n"
    "drain uses the relay's configuration (--config FILE, or the embedded defaults, as serve):\n"
    "the Segment endpoint, the write keys' limits and the retry policy. A batch Segment keeps\n"
    "refusing (5xx, network) is retried with backoff and dead-lettered only by serve's give-up\n"
    "rules (segment.retry.give_up_after_s), so a drain can run long; --timeout S stops it after\n"
    "S seconds. Stopped early (SIGTERM/SIGINT, --timeout), it lets the requests in flight end and\n"
    "keeps every batch not delivered in the spool; a second signal exits at once.\n"
    "\n"
    "exit codes: 0 ok (drain: the queue is empty; dead letters may remain), 1 error (drain: the\n"
    "spool cannot be opened, e.g. a relay holds its lock), 2 usage, 3 drain stopped by a signal\n"
    "before the queue was empty, 4 drain stopped by --timeout before the queue was empty\n";

constexpr std::int64_t kMaxTimeoutS = 100'000'000;  // about three years: well within the timers' range

bool parse_count(const std::string& text, std::int64_t min, std::int64_t* out) {
    if (text.empty() || text.size() > 18) return false;
    std::int64_t value = 0;
    for (const char c : text) {
        if (c < '0' || c > '9') return false;
        value = value * 10 + (c - '0');
    }
    if (value < min) return false;
    *out = value;
    return true;
}

// The checks between options, once every word is read.
std::optional<int> check_combination(const SpoolCommandLine& o) {
    if (o.config_file && o.spool_path)
        return spool_usage_error("give either --config FILE or --spool PATH, not both");
    if (o.command == "salvage") {
        if (!o.from) return spool_usage_error("salvage needs --from OLD (the damaged spool file)");
        if (!o.to && !o.config_file && !o.spool_path) {
            return spool_usage_error(
                "salvage needs --to NEW, --config FILE or --spool PATH for the destination");
        }
        if (o.to && (o.config_file || o.spool_path)) {
            return spool_usage_error(
                "salvage: give --to NEW or --config/--spool for the destination, not both");
        }
    } else if (o.command == "drain") {
        if (o.spool_path) {
            return spool_usage_error(
                "drain takes the relay's configuration (--config FILE: Segment endpoint, retry policy, "
                "spool.path), not --spool PATH");
        }
    } else if (!o.config_file && !o.spool_path) {
        return spool_usage_error("give --config FILE or --spool PATH");
    }
    if (o.timeout_s && o.command != "drain") return spool_usage_error("--timeout applies to drain only");
    if (o.json && o.command == "drain") return spool_usage_error("--json does not apply to drain");
    if (o.limit && o.command != "dead-letters")
        return spool_usage_error("--limit applies to dead-letters only");
    if ((o.from || o.to) && o.command != "salvage")
        return spool_usage_error("--from and --to apply to salvage only");
    if (o.all && o.command != "replay") return spool_usage_error("--all applies to replay only");
    if ((o.dead_letters || o.batches || o.yes_really) && o.command != "purge") {
        return spool_usage_error("--dead-letters, --batches and --yes-really apply to purge only");
    }
    if (o.command == "replay") {
        if (o.all && !o.ids.empty())
            return spool_usage_error("replay takes --all or dead-letter ids, not both");
        if (!o.all && o.ids.empty())
            return spool_usage_error("replay needs --all or the ids of the dead letters");
    }
    if (o.command == "purge") {
        if (o.dead_letters == o.batches)
            return spool_usage_error("purge needs exactly one of --dead-letters or --batches");
    }
    return std::nullopt;
}

}  // namespace

int spool_usage_error(const std::string& message) {
    std::cerr << "spool: " << message
              << "\nusage: looker-segment-relay spool <command> (--config FILE | --spool PATH) [options]"
                 " (`looker-segment-relay spool help` lists the commands)\n";
    return 2;
}

int spool_error(const std::string& message) {
    std::cerr << "spool: " << message << "\n";
    return 1;
}

std::optional<int> SpoolCommandLine::parse(const std::vector<std::string>& args, SpoolCommandLine& o) {
    if (args.empty()) return spool_usage_error("no command given");
    o.command = args[0];
    if (o.command == "help" || o.command == "--help" || o.command == "-h") {
        std::cout << kUsage;
        return 0;
    }
    const std::set<std::string> known = {"stats", "dead-letters", "replay", "purge", "salvage", "drain"};
    if (!known.contains(o.command)) return spool_usage_error("unknown command \"" + o.command + "\"");
    for (std::size_t i = 1; i < args.size(); ++i) {
        std::string arg = args[i];
        std::optional<std::string> inline_value;
        if (arg.rfind("--", 0) == 0) {
            if (const auto eq = arg.find('='); eq != std::string::npos) {
                inline_value = arg.substr(eq + 1);
                arg.resize(eq);
            }
        }
        bool missing = false;
        auto value = [&]() -> std::string {
            if (inline_value) return *inline_value;
            if (i + 1 >= args.size()) {
                missing = true;
                return {};
            }
            return args[++i];
        };
        auto flag = [&](bool& target) {
            if (inline_value) return false;
            target = true;
            return true;
        };
        bool ok = true;
        if (arg == "--config") {
            o.config_file = value();
        } else if (arg == "--spool") {
            o.spool_path = value();
        } else if (arg == "--from") {
            o.from = value();
        } else if (arg == "--to") {
            o.to = value();
        } else if (arg == "--limit") {
            const std::string text = value();
            std::int64_t n = 0;
            if (!missing && !parse_count(text, 1, &n))
                return spool_usage_error("--limit wants a positive number");
            o.limit = static_cast<std::size_t>(n);
        } else if (arg == "--timeout") {
            const std::string text = value();
            std::int64_t n = 0;
            if (!missing && (!parse_count(text, 1, &n) || n > kMaxTimeoutS))
                return spool_usage_error("--timeout wants a positive number of seconds (at most 100000000)");
            o.timeout_s = n;
        } else if (arg == "--json") {
            ok = flag(o.json);
        } else if (arg == "--all") {
            ok = flag(o.all);
        } else if (arg == "--dead-letters") {
            ok = flag(o.dead_letters);
        } else if (arg == "--batches") {
            ok = flag(o.batches);
        } else if (arg == "--yes-really") {
            ok = flag(o.yes_really);
        } else if (arg == "--help" || arg == "-h") {
            std::cout << kUsage;
            return 0;
        } else if (!arg.empty() && arg[0] != '-' && o.command == "replay") {
            std::int64_t id = 0;
            if (!parse_count(arg, 1, &id))
                return spool_usage_error("\"" + arg + "\" is not a dead-letter id");
            o.ids.push_back(id);
        } else {
            return spool_usage_error("unknown option \"" + args[i] + "\" for \"spool " + o.command + "\"");
        }
        if (missing) return spool_usage_error(arg + " needs a value");
        if (!ok) return spool_usage_error(arg + " takes no value");
        if ((arg == "--config" || arg == "--spool" || arg == "--from" || arg == "--to") &&
            (inline_value ? inline_value->empty() : args[i].empty())) {
            return spool_usage_error(arg + " needs a value");
        }
    }
    return check_combination(o);
}

std::optional<config::SpoolConfig> SpoolCommandLine::spool_config(
    const std::optional<std::string>& path) const {
    if (path) {
        config::SpoolConfig cfg;
        cfg.path = *path;
        return cfg;
    }
    if (config_file) {
        const auto loaded = config::ConfigLoader::load_file(*config_file);
        if (!loaded.ok()) {
            for (const auto& p : loaded.problems) std::cerr << p.to_string() << "\n";
            std::cerr << "spool: " << loaded.problems.size() << " problem(s) in " << *config_file << "\n";
            return std::nullopt;
        }
        return loaded.config.spool;
    }
    config::SpoolConfig cfg;
    cfg.path = spool_path.value_or("");
    return cfg;
}

std::unique_ptr<server::Spool> open_tool_spool(const config::SpoolConfig& cfg, bool create) {
    server::SpoolOpenOptions options;
    options.create = create;
    // The tools work beside a running relay: they never take the relay's lock (see
    // server/storage/spool.hpp for what is safe while it runs).
    options.exclusive = false;
    std::error_code ec;
    std::string message;
    auto spool = server::Spool::open(cfg, options, ec, message);
    if (!spool) std::cerr << "spool: " << (message.empty() ? ec.message() : message) << "\n";
    return spool;
}

}  // namespace lsr::app
