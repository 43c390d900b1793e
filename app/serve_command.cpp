#include "app/serve_command.hpp"

#include <unistd.h>

#include <filesystem>
#include <iostream>

#include "app/config_arg.hpp"
#include "app/first_hour_message.hpp"
#include "config/hub_secret_file.hpp"
#include "server/service/relay_app.hpp"

namespace lsr::app {

namespace {

// The --config value as given (take_config consumes it).
std::string config_file_of(const std::vector<std::string>& args) {
    for (std::size_t i = 0; i < args.size(); ++i) {
        if (args[i] == "--config" && i + 1 < args.size()) return args[i + 1];
        if (args[i].rfind("--config=", 0) == 0) return args[i].substr(9);
    }
    return {};
}

}  // namespace

int run_serve(const std::vector<std::string>& args) {
    std::vector<std::string> rest = args;
    const std::string config_file = config_file_of(args);
    auto cfg = take_config(rest);
    if (!cfg) return 1;
    if (!rest.empty()) {
        std::cerr << "serve: unexpected argument \"" << rest.front()
                  << "\"\nusage: looker-segment-relay serve [--config FILE]\n";
        return 2;
    }
    // No secret configured: the one kept beside the spool, made on the first start.
    FirstHourFacts facts;
    facts.config_file = config_file;
    std::string error;
    if (!config::HubSecretFile::resolve(*cfg, true, facts.secret, error)) {
        std::cerr << "looker-segment-relay: " << error << "\n";
        return 1;
    }
    std::error_code ec;
    facts.working_dir = std::filesystem::current_path(ec).string();
    const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    facts.executable = ec ? std::string("looker-segment-relay")
                          : FirstHourMessage::executable_from(exe.string(), facts.working_dir);

    server::RelayApp app(std::move(*cfg));
    app.on_listening([&facts](const server::ListeningInfo& listening) {
        facts.listening = listening;
        std::cerr << FirstHourMessage::text(facts) << std::flush;
    });
    return app.run();
}

}  // namespace lsr::app
