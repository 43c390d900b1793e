#include "app/spool_salvage_command.hpp"

#include <filesystem>
#include <iostream>
#include <string>

#include "core/json_out.hpp"
#include "core/text.hpp"
#include "server/storage/spool.hpp"
#include "server/storage/spool_salvage.hpp"

namespace lsr::app {

namespace {

void print_json(const server::SalvageReport& report) {
    std::string out;
    core::JsonOut j(out);
    auto count = [&](std::string_view key, std::size_t n) {
        j.key(key);
        j.raw(std::to_string(n));
        j.raw(',');
    };
    j.raw('{');
    count("batches", report.batches);
    count("events", report.events);
    count("dead_letters", report.dead_letters);
    count("unreadable", report.unreadable);
    j.key("complete");
    j.raw(report.complete ? "true" : "false");
    j.raw(',');
    j.key("error");
    j.string(core::valid_utf8_text(report.error));
    j.raw(',');
    j.key("notes");
    j.string(core::valid_utf8_text(report.notes));
    j.raw("}\n");
    std::cout << out;
}

}  // namespace

int run_spool_salvage(const SpoolCommandLine& o) {
    const auto cfg = o.spool_config(o.to);
    if (!cfg) return 1;
    std::error_code fec;
    if (cfg->path == *o.from || std::filesystem::equivalent(cfg->path, *o.from, fec)) {
        return spool_usage_error("salvage: --from and the destination are the same file (" + *o.from +
                                 "); move the damaged file aside first");
    }
    auto to = open_tool_spool(*cfg, true);
    if (!to) return 1;
    const auto report = server::SpoolSalvage::run(*o.from, *to);
    if (o.json) {
        print_json(report);
    } else {
        std::cout << "salvaged " << report.batches << " batch(es) (" << report.events << " events) and "
                  << report.dead_letters << " dead letter(s) from " << *o.from << " into " << to->path()
                  << "\n";
        if (!report.notes.empty()) std::cout << "skipped: " << report.notes << "\n";
        if (report.unreadable != 0) {
            std::cout << "up to " << report.unreadable << " row(s) could not be read\n";
        }
    }
    if (!report.error.empty()) return spool_error(report.error);
    if (!report.complete) {
        return spool_error("salvage incomplete: up to " + std::to_string(report.unreadable) +
                           " row(s) could not be read; everything readable was copied");
    }
    return 0;
}

}  // namespace lsr::app
