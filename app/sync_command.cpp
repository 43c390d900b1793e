#include "app/sync_command.hpp"

#include <iostream>
#include <optional>

#include "app/cli_text.hpp"
#include "app/spool_command_line.hpp"
#include "config/config_loader.hpp"
#include "core/iso_time.hpp"
#include "core/json_out.hpp"
#include "core/text.hpp"
#include "server/storage/spool.hpp"
#include "server/storage/sync_store.hpp"

namespace lsr::app {

namespace {

constexpr const char* kUsage =
    "usage: looker-segment-relay sync <command> [--config FILE | --spool PATH]\n"
    "\n"
    "commands:\n"
    "  list [--json]   cohort sync's baselines: one per Looker instance, schedule, action (or\n"
    "                  webhook route) and write key; their mode, members, size and last run\n"
    "  reset ID        empty baseline ID: the schedule's next run is a first run (every row is\n"
    "                  sent, nobody leaves)\n"
    "\n"
    "  --config FILE   take the spool path from the relay's configuration (spool.path)\n"
    "  --spool PATH    the spool database file itself\n"
    "  (neither: the spool serve uses without --config: ./var/spool.db, or RELAY_SPOOL_PATH)\n"
    "Works beside a running relay. Exit codes: 0 ok, 1 error (e.g. no such baseline), 2 usage.\n";

struct Options {
    std::string command;
    SpoolCommandLine source;  // config_file / spool_path only
    bool json = false;
    std::optional<std::int64_t> id;
};

int usage_error(const std::string& message) {
    std::cerr << "sync: " << message << "\n" << kUsage;
    return 2;
}

std::optional<int> parse(const std::vector<std::string>& args, Options& o) {
    if (args.empty()) return usage_error("no command given");
    o.command = args[0];
    if (o.command == "help" || o.command == "--help" || o.command == "-h") {
        std::cout << kUsage;
        return 0;
    }
    if (o.command != "list" && o.command != "reset")
        return usage_error("unknown command \"" + o.command + "\"");
    for (std::size_t i = 1; i < args.size(); ++i) {
        std::string arg = args[i];
        std::optional<std::string> inline_value;
        if (arg.rfind("--", 0) == 0) {
            if (const auto eq = arg.find('='); eq != std::string::npos) {
                inline_value = arg.substr(eq + 1);
                arg.resize(eq);
            }
        }
        if (arg == "--help" || arg == "-h") {
            std::cout << kUsage;
            return 0;
        }
        if (arg == "--json") {
            if (inline_value) return usage_error("--json takes no value");
            o.json = true;
        } else if (arg == "--config" || arg == "--spool") {
            std::optional<std::string> v = inline_value;
            if (!v && i + 1 < args.size()) v = args[++i];
            if (!v || v->empty()) return usage_error(arg + " needs a value");
            (arg == "--config" ? o.source.config_file : o.source.spool_path) = *v;
        } else if (o.command == "reset" && !arg.empty() && arg[0] != '-') {
            const auto n = core::parse_positive_int(arg);
            if (!n) return usage_error("\"" + arg + "\" is not a baseline id");
            if (o.id) return usage_error("reset takes one baseline id");
            o.id = n;
        } else {
            return usage_error("unknown option \"" + args[i] + "\" for \"sync " + o.command + "\"");
        }
    }
    if (o.source.config_file && o.source.spool_path)
        return usage_error("give either --config FILE or --spool PATH, not both");
    if (o.command == "reset" && !o.id) return usage_error("reset needs the id of a baseline (see sync list)");
    if (o.command == "reset" && o.json) return usage_error("--json applies to list only");
    return std::nullopt;
}

class Object {
  public:
    explicit Object(core::JsonOut& j) : j_(j) { j_.raw('{'); }
    void text(std::string_view k, std::string_view v) {
        key(k);
        j_.string(core::valid_utf8_text(v));
    }
    template <class Integer>
    void number(std::string_view k, Integer v) {
        key(k);
        j_.raw(std::to_string(v));
    }
    // ISO-8601 and the ms, both null for 0.
    void time(std::string_view k, std::int64_t ms) {
        key(k);
        if (ms > 0) {
            j_.string(core::format_iso8601_ms(ms));
        } else {
            j_.null();
        }
        key(std::string(k) + "_ms");
        if (ms > 0) {
            j_.raw(std::to_string(ms));
        } else {
            j_.null();
        }
    }
    void close() { j_.raw('}'); }

  private:
    void key(std::string_view k) {
        if (!first_) j_.raw(',');
        first_ = false;
        j_.key(k);
    }
    core::JsonOut& j_;
    bool first_ = true;
};

int list(server::SyncStore& store, bool json) {
    const auto baselines = store.list_baselines();
    if (json) {
        std::string out;
        core::JsonOut j(out);
        j.raw("{\"baselines\":[");
        bool first = true;
        for (const auto& b : baselines) {
            if (!first) j.raw(',');
            first = false;
            Object o(j);
            o.number("id", b.id);
            o.text("instance", b.key.instance);
            o.text("plan_id", b.key.plan_id);
            o.text("title", b.title);
            o.text("action", b.key.action);
            o.text("write_key", CliText::key_prefix(b.key.write_key));
            o.text("mode", b.mode);
            o.number("generation", b.generation);
            o.number("members", b.members);
            o.number("bytes", b.bytes);
            o.time("created", b.created_ms);
            o.time("last_run", b.last_run_ms);
            o.close();
        }
        j.raw("]}\n");
        std::cout << out;
        return 0;
    }
    if (baselines.empty()) {
        std::cout << "no baselines\n";
        return 0;
    }
    const auto row = [](std::initializer_list<std::pair<std::string, std::size_t>> cells) {
        std::string out;
        for (const auto& [text, width] : cells) out += CliText::pad(text, width) + " ";
        while (!out.empty() && out.back() == ' ') out.pop_back();
        std::cout << out << "\n";
    };
    row({{"ID", 6},
         {"INSTANCE", 20},
         {"PLAN", 8},
         {"TITLE", 24},
         {"ACTION", 20},
         {"WRITE KEY", 9},
         {"MODE", 8},
         {"MEMBERS", 10},
         {"BYTES", 10},
         {"LAST RUN", 20}});
    for (const auto& b : baselines) {
        row({{std::to_string(b.id), 6},
             {b.key.instance.empty() ? "-" : CliText::one_line(b.key.instance, 19), 20},
             {b.key.plan_id.empty() ? "-" : CliText::one_line(b.key.plan_id, 8), 8},
             {b.title.empty() ? "-" : CliText::one_line(b.title, 23), 24},
             {CliText::one_line(b.key.action, 19), 20},
             {CliText::key_prefix(b.key.write_key), 9},
             {b.mode.empty() ? "-" : b.mode, 8},
             {std::to_string(b.members), 10},
             {CliText::human_bytes(b.bytes), 10},
             {b.last_run_ms > 0 ? CliText::iso_utc(b.last_run_ms) : "-", 20}});
    }
    return 0;
}

int reset(server::SyncStore& store, std::int64_t id) {
    const auto info = store.baseline(id);
    bool found = false;
    if (const auto err = store.reset_baseline(id, &found)) {
        std::cerr << "sync: cannot reset baseline " << id << ": " << err.message()
                  << (err.detail().empty() ? "" : " (" + err.detail() + ")") << "\n";
        return 1;
    }
    if (!found) {
        std::cerr << "sync: no baseline " << id << " (see sync list)\n";
        return 1;
    }
    std::cout << "baseline " << id;
    if (info) {
        std::cout << " (plan " << CliText::one_line(info->key.plan_id, 100);
        if (!info->title.empty()) std::cout << " \"" << CliText::one_line(info->title, 100) << "\"";
        std::cout << ", " << CliText::one_line(info->key.action, 100) << ", write key "
                  << CliText::key_prefix(info->key.write_key) << ", " << info->members << " members)";
    }
    std::cout << " emptied: the schedule's next run is a first run (every row sent, nobody leaves, new "
                 "messageIds)\n";
    return 0;
}

}  // namespace

int run_sync(const std::vector<std::string>& args) {
    Options o;
    if (const auto code = parse(args, o)) return *code;
    // Neither --config nor --spool: the spool `serve` uses without --config (the embedded
    // defaults, RELAY_SPOOL_PATH).
    const auto cfg = o.source.config_file || o.source.spool_path
                         ? o.source.spool_config(std::nullopt)
                         : std::optional<config::SpoolConfig>(config::ConfigLoader::defaults().config.spool);
    if (!cfg) return 1;
    auto spool = open_tool_spool(*cfg, false);
    if (!spool) return 1;
    server::SyncStore store(*spool);
    if (o.command == "list") return list(store, o.json);
    return reset(store, *o.id);
}

}  // namespace lsr::app
