#include "app/spool_drain_command.hpp"

#include <csignal>
#include <iostream>
#include <string>

#include "config/config_loader.hpp"
#include "core/clock.hpp"
#include "server/net/logger.hpp"
#include "server/service/spool_drainer.hpp"

namespace lsr::app {

namespace {

constexpr std::int64_t kProgressEveryMs = 5000;

std::string seconds(std::int64_t ms) {
    return std::to_string(ms / 1000) + "s";
}

std::string queue_text(const server::SpoolStats& s) {
    return std::to_string(s.batches) + " batches (" + std::to_string(s.events) + " events)";
}

std::string progress_text(const server::DrainFigures& f) {
    return queue_text(f.spool) + " left, " + std::to_string(f.delivered_events) + " events delivered, " +
           std::to_string(f.dead_lettered_events) + " events dead-lettered, " + seconds(f.elapsed_ms) +
           " elapsed";
}

std::string stopped_by(const server::DrainResult& r, const SpoolCommandLine& o) {
    if (r.end == server::DrainEnd::timed_out) return "--timeout " + std::to_string(o.timeout_s.value_or(0));
    if (r.signal == SIGINT) return "SIGINT";
    return "SIGTERM";
}

// The last line: the dead letters that remain, and the commands that deal with them.
void print_dead_letters(const server::SpoolStats& s, const SpoolCommandLine& o, const std::string& path) {
    if (s.dead_letters == 0) {
        std::cerr << "spool drain: no dead letters remain\n";
        return;
    }
    const std::string where = o.config_file ? "--config " + *o.config_file : "--spool " + path;
    std::cerr << "spool drain: " << s.dead_letters << " dead letters (" << s.dead_letter_events
              << " events) remain in " << path << ": list them with `looker-segment-relay spool dead-letters "
              << where << "`, queue them again with `looker-segment-relay spool replay --all " << where
              << "` once the cause is fixed\n";
}

}  // namespace

int run_spool_drain(const SpoolCommandLine& o) {
    const auto loaded =
        o.config_file ? config::ConfigLoader::load_file(*o.config_file) : config::ConfigLoader::defaults();
    if (!loaded.ok()) {
        for (const auto& p : loaded.problems) std::cerr << p.to_string() << "\n";
        std::cerr << "spool drain: " << loaded.problems.size() << " problem(s) in the configuration\n";
        return 1;
    }
    const config::Config& cfg = loaded.config;
    const core::Clock& clock = core::Clock::system();
    server::Logger log(server::Logger::parse_level(cfg.log.level), clock);
    server::SpoolDrainer drainer(cfg, log, clock);
    server::SpoolDrainer::Options options;
    options.timeout_ms = o.timeout_s.value_or(0) * 1000;
    options.progress_every_ms = kProgressEveryMs;
    const std::string& path = cfg.spool.path;
    bool opened = false;
    const auto result = drainer.run(options, [&](const server::DrainFigures& f) {
        if (!opened) {
            opened = true;
            std::cerr << "spool drain: " << path << ": " << queue_text(f.spool) << " queued, "
                      << f.spool.dead_letters << " dead letters" << std::endl;
            return;
        }
        std::cerr << "spool drain: " << progress_text(f) << std::endl;
    });
    if (result.end == server::DrainEnd::cannot_open) {
        std::cerr << "spool drain: cannot open the spool " << path << ": " << result.error << "\n";
        if (result.locked) {
            std::cerr << "spool drain: drain delivers the spool itself and takes the relay's lock, so it "
                         "never runs beside a relay on the same spool: stop that relay first (a running "
                         "relay delivers the queue anyway)\n";
        }
        return 1;
    }
    const server::DrainFigures& f = result.figures;
    if (result.end == server::DrainEnd::drained) {
        std::cerr << "spool drain: done in " << seconds(f.elapsed_ms) << ": the queue of " << path
                  << " is empty; " << f.delivered_events << " events delivered, " << f.dead_lettered_events
                  << " events dead-lettered\n";
        print_dead_letters(f.spool, o, path);
        return 0;
    }
    std::cerr << "spool drain: stopped by " << stopped_by(result, o)
              << " before the queue was empty: " << progress_text(f) << "\n"
              << "spool drain: the batches left stay in " << path
              << "; run `spool drain` again, or start `serve`, to deliver them\n";
    print_dead_letters(f.spool, o, path);
    return result.end == server::DrainEnd::timed_out ? 4 : 3;
}

}  // namespace lsr::app
