#include "app/spool_command.hpp"

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <limits>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "config/config_loader.hpp"
#include "core/text.hpp"
#include "server/storage/spool.hpp"
#include "server/storage/spool_salvage.hpp"

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
    "\n"
    "  --config FILE   take the spool path from the relay's configuration (spool.path)\n"
    "  --spool PATH    the spool database file itself\n"
    "\n"
    "Every command works while a relay serves the spool (they do not take its lock): stats and\n"
    "dead-letters read a snapshot; replay queues new batches the relay sends on its next poll;\n"
    "purge --batches also deletes the batches the relay is sending at that moment (those may\n"
    "still reach Segment; none is sent again or dead-lettered afterwards).\n"
    "\n"
    "exit codes: 0 ok, 1 error, 2 usage\n";

constexpr std::size_t kDefaultLimit = 100;

struct Options {
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
};

int usage_error(const std::string& message) {
    std::cerr << "spool: " << message
              << "\nusage: looker-segment-relay spool <command> (--config FILE | --spool PATH) [options]"
                 " (`looker-segment-relay spool help` lists the commands)\n";
    return 2;
}

int error(const std::string& message) {
    std::cerr << "spool: " << message << "\n";
    return 1;
}

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

// Parses argv after "spool". Returns an exit code on a usage error, nullopt when fine.
std::optional<int> parse(const std::vector<std::string>& args, Options& o) {
    if (args.empty()) return usage_error("no command given");
    o.command = args[0];
    if (o.command == "help" || o.command == "--help" || o.command == "-h") {
        std::cout << kUsage;
        return 0;
    }
    const std::set<std::string> known = {"stats", "dead-letters", "replay", "purge", "salvage"};
    if (!known.contains(o.command)) return usage_error("unknown command \"" + o.command + "\"");
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
            if (!missing && !parse_count(text, 1, &n)) return usage_error("--limit wants a positive number");
            o.limit = static_cast<std::size_t>(n);
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
            if (!parse_count(arg, 1, &id)) return usage_error("\"" + arg + "\" is not a dead-letter id");
            o.ids.push_back(id);
        } else {
            return usage_error("unknown option \"" + args[i] + "\" for \"spool " + o.command + "\"");
        }
        if (missing) return usage_error(arg + " needs a value");
        if (!ok) return usage_error(arg + " takes no value");
        if ((arg == "--config" || arg == "--spool" || arg == "--from" || arg == "--to") &&
            (inline_value ? inline_value->empty() : args[i].empty())) {
            return usage_error(arg + " needs a value");
        }
    }

    if (o.config_file && o.spool_path)
        return usage_error("give either --config FILE or --spool PATH, not both");
    if (o.command == "salvage") {
        if (!o.from) return usage_error("salvage needs --from OLD (the damaged spool file)");
        if (!o.to && !o.config_file && !o.spool_path) {
            return usage_error("salvage needs --to NEW, --config FILE or --spool PATH for the destination");
        }
        if (o.to && (o.config_file || o.spool_path)) {
            return usage_error("salvage: give --to NEW or --config/--spool for the destination, not both");
        }
    } else if (!o.config_file && !o.spool_path) {
        return usage_error("give --config FILE or --spool PATH");
    }
    if (o.limit && o.command != "dead-letters") return usage_error("--limit applies to dead-letters only");
    if ((o.from || o.to) && o.command != "salvage")
        return usage_error("--from and --to apply to salvage only");
    if (o.all && o.command != "replay") return usage_error("--all applies to replay only");
    if ((o.dead_letters || o.batches || o.yes_really) && o.command != "purge") {
        return usage_error("--dead-letters, --batches and --yes-really apply to purge only");
    }
    if (o.command == "replay") {
        if (o.all && !o.ids.empty()) return usage_error("replay takes --all or dead-letter ids, not both");
        if (!o.all && o.ids.empty()) return usage_error("replay needs --all or the ids of the dead letters");
    }
    if (o.command == "purge") {
        if (o.dead_letters == o.batches)
            return usage_error("purge needs exactly one of --dead-letters or --batches");
    }
    return std::nullopt;
}

// The spool's settings: from the configuration file, or defaults with the given path.
std::optional<config::SpoolConfig> spool_config(const Options& o, const std::optional<std::string>& path) {
    if (path) {
        config::SpoolConfig cfg;
        cfg.path = *path;
        return cfg;
    }
    if (o.config_file) {
        const auto loaded = config::ConfigLoader::load_file(*o.config_file);
        if (!loaded.ok()) {
            for (const auto& p : loaded.problems) std::cerr << p.to_string() << "\n";
            std::cerr << "spool: " << loaded.problems.size() << " problem(s) in " << *o.config_file << "\n";
            return std::nullopt;
        }
        return loaded.config.spool;
    }
    config::SpoolConfig cfg;
    cfg.path = o.spool_path.value_or("");
    return cfg;
}

std::unique_ptr<server::Spool> open_spool(const config::SpoolConfig& cfg, bool create) {
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

std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// Never the whole write key: its first 4 characters and an ellipsis.
std::string key_prefix(std::string_view key) {
    return std::string(key.substr(0, 4)) + "\u2026";
}

std::string human_bytes(std::uint64_t n) {
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = static_cast<double>(n);
    int u = 0;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        ++u;
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
    return buf;
}

std::string human_age(std::int64_t ms) {
    if (ms < 0) ms = 0;
    std::int64_t s = ms / 1000;
    const std::int64_t d = s / 86400;
    const std::int64_t h = (s % 86400) / 3600;
    const std::int64_t m = (s % 3600) / 60;
    s %= 60;
    std::ostringstream out;
    if (d > 0) {
        out << d << "d " << h << "h";
    } else if (h > 0) {
        out << h << "h " << m << "m";
    } else if (m > 0) {
        out << m << "m " << s << "s";
    } else {
        out << s << "s";
    }
    return out.str();
}

std::string iso_utc(std::int64_t ms) {
    const std::time_t t = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

// One line of text for a table cell: control characters become spaces.
std::string one_line(std::string_view s, std::size_t max) {
    std::string out;
    for (const char ch : s) out += static_cast<unsigned char>(ch) < 0x20 ? ' ' : ch;
    if (out.size() > max) {
        std::size_t cut = max;
        while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;  // UTF-8 boundary
        out = out.substr(0, cut) + "\u2026";
    }
    return out;
}

int cmd_stats(server::Spool& spool, const Options& o) {
    const auto st = spool.stats();
    const std::int64_t now = now_ms();
    const std::int64_t oldest_age_ms = st.oldest_created_ms == 0 ? 0 : now - st.oldest_created_ms;
    if (o.json) {
        std::cout << "{\"path\":" << core::json_string(spool.path()) << ",\"batches\":" << st.batches
                  << ",\"events\":" << st.events << ",\"bytes\":" << st.bytes
                  << ",\"max_bytes\":" << spool.max_bytes() << ",\"dead_letters\":" << st.dead_letters
                  << ",\"dead_letter_events\":" << st.dead_letter_events
                  << ",\"oldest_created_ms\":" << st.oldest_created_ms
                  << ",\"oldest_age_s\":" << oldest_age_ms / 1000 << ",\"file_bytes\":" << st.file_bytes
                  << "}\n";
        return 0;
    }
    std::cout << "spool         " << spool.path() << "\n"
              << "batches       " << st.batches << " (" << st.events << " events, " << human_bytes(st.bytes)
              << " of " << human_bytes(spool.max_bytes()) << " allowed)\n"
              << "oldest event  "
              << (st.oldest_created_ms == 0
                      ? std::string("-")
                      : human_age(oldest_age_ms) + " old (" + iso_utc(st.oldest_created_ms) + ")")
              << "\n"
              << "dead letters  " << st.dead_letters << " (" << st.dead_letter_events << " events)\n"
              << "file size     " << human_bytes(st.file_bytes) << "\n";
    return 0;
}

int cmd_dead_letters(server::Spool& spool, const Options& o) {
    const std::size_t limit = o.limit.value_or(kDefaultLimit);
    const auto letters = spool.list_dead_letters(limit, false);
    const auto total = spool.stats().dead_letters;
    const std::int64_t now = now_ms();
    if (o.json) {
        std::cout << "{\"total\":" << total << ",\"dead_letters\":[";
        bool first = true;
        for (const auto& d : letters) {
            std::cout << (first ? "" : ",") << "{\"id\":" << d.id
                      << ",\"write_key\":" << core::json_string(key_prefix(d.write_key))
                      << ",\"status\":" << d.status << ",\"reason\":" << core::json_string(d.reason)
                      << ",\"events\":" << d.events << ",\"attempts\":" << d.attempts
                      << ",\"created_ms\":" << d.created_ms << ",\"dead_ms\":" << d.dead_ms
                      << ",\"age_s\":" << (now - d.created_ms) / 1000 << "}";
            first = false;
        }
        std::cout << "]}\n";
        return 0;
    }
    if (letters.empty()) {
        std::cout << "no dead letters\n";
        return 0;
    }
    char line[256];
    std::snprintf(line, sizeof line, "%-8s %-9s %-6s %8s %9s %-10s %s\n", "ID", "WRITE KEY", "STATUS",
                  "EVENTS", "ATTEMPTS", "AGE", "REASON");
    std::cout << line;
    for (const auto& d : letters) {
        const std::string status = d.status == 0 ? "-" : std::to_string(d.status);
        // The ellipsis is 3 bytes and 1 column: pad by hand.
        std::string key = key_prefix(d.write_key);
        const std::size_t columns = d.write_key.substr(0, 4).size() + 1;
        key.append(columns < 9 ? 9 - columns : 0, ' ');
        std::snprintf(line, sizeof line, "%-8lld %s %-6s %8u %9u %-10s ", static_cast<long long>(d.id),
                      key.c_str(), status.c_str(), d.events, d.attempts,
                      human_age(now - d.created_ms).c_str());
        std::cout << line << one_line(d.reason, 120) << "\n";
    }
    if (total > letters.size()) {
        std::cout << "(" << letters.size() << " of " << total << " shown; --limit N for more)\n";
    }
    return 0;
}

int cmd_replay(server::Spool& spool, const Options& o) {
    std::size_t replayed = 0;
    if (auto ec = spool.replay_dead_letters(o.all ? std::vector<std::int64_t>{} : o.ids, &replayed)) {
        if (ec == server::SpoolErrc::not_found) {
            std::set<std::int64_t> present;
            for (const auto& d : spool.list_dead_letters(std::numeric_limits<std::size_t>::max(), false)) {
                present.insert(d.id);
            }
            std::string missing;
            for (const auto id : o.ids) {
                if (present.contains(id)) continue;
                missing += (missing.empty() ? "" : ", ") + std::to_string(id);
            }
            return error("no dead letter with id " + missing +
                         "; nothing was replayed (see `spool dead-letters`)");
        }
        return error("replay failed: " + ec.message() + " " + spool.last_error());
    }
    if (o.json) {
        std::cout << "{\"replayed\":" << replayed << "}\n";
    } else {
        std::cout << "replayed " << replayed
                  << " dead letter(s) into the queue, due now; a running relay sends them "
                  << "on its next poll\n";
    }
    return 0;
}

int cmd_purge(server::Spool& spool, const Options& o) {
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
    const auto ec = o.dead_letters ? spool.purge_dead_letters(&purged) : spool.purge_batches(&purged);
    if (ec) return error("purge failed: " + ec.message() + " " + spool.last_error());
    if (o.json) {
        std::cout << "{\"purged\":" << purged << ",\"table\":\""
                  << (o.dead_letters ? "dead_letters" : "batches") << "\"}\n";
    } else {
        std::cout << "purged " << purged << (o.dead_letters ? " dead letter(s)" : " batch(es)") << " from "
                  << spool.path() << "\n";
    }
    return 0;
}

int cmd_salvage(const Options& o) {
    const auto cfg = spool_config(o, o.to);
    if (!cfg) return 1;
    std::error_code fec;
    if (cfg->path == *o.from || std::filesystem::equivalent(cfg->path, *o.from, fec)) {
        return usage_error("salvage: --from and the destination are the same file (" + *o.from +
                           "); move the damaged file aside first");
    }
    auto to = open_spool(*cfg, true);
    if (!to) return 1;
    const auto report = server::SpoolSalvage::run(*o.from, *to);
    if (o.json) {
        std::cout << "{\"batches\":" << report.batches << ",\"events\":" << report.events
                  << ",\"dead_letters\":" << report.dead_letters << ",\"unreadable\":" << report.unreadable
                  << ",\"complete\":" << (report.complete ? "true" : "false")
                  << ",\"error\":" << core::json_string(report.error)
                  << ",\"notes\":" << core::json_string(report.notes) << "}\n";
    } else {
        std::cout << "salvaged " << report.batches << " batch(es) (" << report.events << " events) and "
                  << report.dead_letters << " dead letter(s) from " << *o.from << " into " << to->path()
                  << "\n";
        if (!report.notes.empty()) std::cout << "skipped: " << report.notes << "\n";
        if (report.unreadable != 0) {
            std::cout << "up to " << report.unreadable << " row(s) could not be read\n";
        }
    }
    if (!report.error.empty()) return error(report.error);
    if (!report.complete) {
        return error("salvage incomplete: up to " + std::to_string(report.unreadable) +
                     " row(s) could not be read; everything readable was copied");
    }
    return 0;
}

}  // namespace

int run_spool(const std::vector<std::string>& args) {
    Options o;
    if (const auto code = parse(args, o)) return *code;
    if (o.command == "salvage") return cmd_salvage(o);

    const auto cfg = spool_config(o, std::nullopt);
    if (!cfg) return 1;
    // Tools never create a spool: a wrong path is an error, not a new empty file.
    auto spool = open_spool(*cfg, false);
    if (!spool) return 1;
    if (o.command == "stats") return cmd_stats(*spool, o);
    if (o.command == "dead-letters") return cmd_dead_letters(*spool, o);
    if (o.command == "replay") return cmd_replay(*spool, o);
    return cmd_purge(*spool, o);
}

}  // namespace lsr::app
