#include "app/runs_command.hpp"

#include <iostream>
#include <optional>

#include "app/cli_text.hpp"
#include "app/spool_command_line.hpp"
#include "config/config_loader.hpp"
#include "core/text.hpp"
#include "server/storage/run_record_json.hpp"
#include "server/storage/spool.hpp"
#include "server/storage/sync_store.hpp"

namespace lsr::app {

namespace {

constexpr std::size_t kDefaultLimit = 50;
constexpr std::size_t kMaxLimit = 100'000;

constexpr const char* kUsage =
    "usage: looker-segment-relay runs [--config FILE | --spool PATH] [--json] [--limit N] [--before ID] "
    "[ID]\n"
    "\n"
    "The run history: every execute with its sync mode, counts, answer and delivery, newest first.\n"
    "  (no ID)        a table of the last runs (--limit N, default 50; --before ID: older than run ID)\n"
    "  ID             one run in full\n"
    "  --json         the same JSON as GET /runs (or GET /runs/{id})\n"
    "  --config FILE  take the spool path from the relay's configuration (spool.path)\n"
    "  --spool PATH   the spool database file itself\n"
    "  (neither: the spool serve uses without --config: ./var/spool.db, or RELAY_SPOOL_PATH)\n"
    "Works beside a running relay (read only). Exit codes: 0 ok, 1 error (e.g. no such run), 2 usage.\n";

struct Options {
    SpoolCommandLine source;  // config_file / spool_path only
    bool json = false;
    std::size_t limit = kDefaultLimit;
    std::int64_t before = 0;
    std::optional<std::int64_t> id;
};

int usage_error(const std::string& message) {
    std::cerr << "runs: " << message << "\n" << kUsage;
    return 2;
}

std::optional<int> parse(const std::vector<std::string>& args, Options& o) {
    for (std::size_t i = 0; i < args.size(); ++i) {
        std::string arg = args[i];
        std::optional<std::string> inline_value;
        if (arg.rfind("--", 0) == 0) {
            if (const auto eq = arg.find('='); eq != std::string::npos) {
                inline_value = arg.substr(eq + 1);
                arg.resize(eq);
            }
        }
        auto value = [&]() -> std::optional<std::string> {
            if (inline_value) return inline_value;
            if (i + 1 >= args.size()) return std::nullopt;
            return args[++i];
        };
        if (arg == "--help" || arg == "-h" || arg == "help") {
            std::cout << kUsage;
            return 0;
        }
        if (arg == "--json") {
            if (inline_value) return usage_error("--json takes no value");
            o.json = true;
        } else if (arg == "--config" || arg == "--spool") {
            const auto v = value();
            if (!v || v->empty()) return usage_error(arg + " needs a value");
            (arg == "--config" ? o.source.config_file : o.source.spool_path) = *v;
        } else if (arg == "--limit") {
            const auto v = value();
            const auto n = v ? core::parse_positive_int(*v) : std::nullopt;
            if (!n) return usage_error("--limit wants a positive number");
            o.limit = static_cast<std::size_t>(std::min<std::int64_t>(*n, kMaxLimit));
        } else if (arg == "--before") {
            const auto v = value();
            const auto n = v ? core::parse_positive_int(*v) : std::nullopt;
            if (!n) return usage_error("--before wants a run id");
            o.before = *n;
        } else if (!arg.empty() && arg[0] != '-') {
            const auto n = core::parse_positive_int(arg);
            if (!n) return usage_error("\"" + arg + "\" is not a run id");
            if (o.id) return usage_error("give at most one run id");
            o.id = n;
        } else {
            return usage_error("unknown option \"" + args[i] + "\"");
        }
    }
    if (o.source.config_file && o.source.spool_path)
        return usage_error("give either --config FILE or --spool PATH, not both");
    if (o.id && o.before != 0) return usage_error("--before applies to the list, not to one run");
    return std::nullopt;
}

std::string count(std::uint64_t n) {
    return std::to_string(n);
}

void print_one(const server::RunRecord& r) {
    auto line = [](const char* name, const std::string& value) {
        std::cout << CliText::pad(name, 14) << value << "\n";
    };
    line("run", std::to_string(r.id));
    line("received", r.received_ms > 0 ? CliText::iso_utc(r.received_ms) : "-");
    line("finished", r.finished_ms > 0 ? CliText::iso_utc(r.finished_ms) : "- (not finished)");
    line("instance", CliText::one_line(r.instance, 200));
    line("plan", CliText::one_line(r.plan_id, 200) +
                     (r.title.empty() ? "" : " \"" + CliText::one_line(r.title, 200) + "\""));
    line("action", CliText::one_line(r.action, 200));
    line("webhook id", CliText::one_line(r.webhook_id, 200));
    line("request id", CliText::one_line(r.request_id, 200));
    line("sync mode", r.sync_mode.empty() ? "-" : r.sync_mode);
    line("outcome", r.outcome);
    line("rows", count(r.rows) + " (" + count(r.accepted) + " accepted, " + count(r.rejected) + " rejected)");
    for (const auto& [reason, n] : r.rejected_by_reason)
        line("  rejected", count(n) + " " + CliText::one_line(reason, 200));
    line("changes", count(r.added) + " added, " + count(r.changed) + " changed, " + count(r.unchanged) +
                        " unchanged, " + count(r.removed) + " removed");
    line("events", count(r.events) + " spooled: " + count(r.delivered) + " delivered, " + count(r.queued) +
                       " queued, " + count(r.dead_lettered) + " dead-lettered");
    line("answer", std::string(r.success ? "success: " : "failure: ") + CliText::one_line(r.answer, 1000));
}

void print_table(const std::vector<server::RunRecord>& runs, std::int64_t next) {
    if (runs.empty()) {
        std::cout << "no runs\n";
        return;
    }
    const auto row = [](std::initializer_list<std::pair<std::string, std::size_t>> cells) {
        std::string out;
        for (const auto& [text, width] : cells) out += CliText::pad(text, width) + " ";
        while (!out.empty() && out.back() == ' ') out.pop_back();
        std::cout << out << "\n";
    };
    row({{"ID", 7},
         {"RECEIVED", 20},
         {"PLAN", 8},
         {"TITLE", 24},
         {"MODE", 8},
         {"OUTCOME", 14},
         {"ROWS", 9},
         {"ADDED/CHANGED/UNCHANGED/REMOVED", 31},
         {"EVENTS", 9},
         {"DELIVERED", 9}});
    for (const auto& r : runs) {
        row({{std::to_string(r.id), 7},
             {r.received_ms > 0 ? CliText::iso_utc(r.received_ms) : "-", 20},
             {r.plan_id.empty() ? "-" : CliText::one_line(r.plan_id, 8), 8},
             {r.title.empty() ? "-" : CliText::one_line(r.title, 23), 24},
             {r.sync_mode.empty() ? "-" : r.sync_mode, 8},
             {CliText::one_line(r.outcome, 14), 14},
             {count(r.rows), 9},
             {count(r.added) + "/" + count(r.changed) + "/" + count(r.unchanged) + "/" + count(r.removed),
              31},
             {count(r.events), 9},
             {count(r.delivered), 9}});
    }
    if (next > 0) std::cout << "(older runs: --before " << next << ")\n";
}

}  // namespace

int run_runs(const std::vector<std::string>& args) {
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
    if (o.id) {
        const auto run = store.run(*o.id);
        if (!run) {
            std::cerr << "runs: no run " << *o.id << " in the history of " << spool->path() << "\n";
            return 1;
        }
        if (o.json) {
            std::cout << server::RunRecordJson::object(*run) << "\n";
        } else {
            print_one(*run);
        }
        return 0;
    }
    auto runs = store.list_runs(o.before, o.limit + 1);
    std::int64_t next = 0;
    if (runs.size() > o.limit) {
        runs.resize(o.limit);
        next = runs.back().id;
    }
    if (o.json) {
        std::cout << server::RunRecordJson::page(runs, next) << "\n";
    } else {
        print_table(runs, next);
    }
    return 0;
}

}  // namespace lsr::app
