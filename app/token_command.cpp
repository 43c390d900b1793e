#include "app/token_command.hpp"

#include <iostream>

#include "config/config_loader.hpp"
#include "config/hub_secret_file.hpp"
#include "core/hub/hub_token.hpp"

namespace lsr::app {

namespace {

constexpr const char* kUsage =
    "usage: looker-segment-relay token [--config FILE]\n"
    "Prints a new Action Hub token signed with the hub secret: hub.secret, else RELAY_HUB_SECRET,\n"
    "else the file <spool dir>/hub-secret that the first `serve` creates (the same config, or\n"
    "the embedded defaults, find the same file).\n"
    "Enter it in Looker (Admin > Actions > Add Action Hub) as the authorization token.\n";

}  // namespace

int run_token(const std::vector<std::string>& args) {
    std::string config_file;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (a == "--config" && i + 1 < args.size()) {
            config_file = args[++i];
        } else if (a.rfind("--config=", 0) == 0) {
            config_file = a.substr(9);
        } else if (a == "--help" || a == "-h") {
            std::cout << kUsage;
            return 0;
        } else {
            std::cerr << "token: unexpected argument \"" << a << "\"\n" << kUsage;
            return 2;
        }
    }
    auto result =
        config_file.empty() ? config::ConfigLoader::defaults() : config::ConfigLoader::load_file(config_file);
    if (!result.ok()) {
        for (const auto& p : result.problems) std::cerr << p.to_string() << "\n";
        std::cerr << result.problems.size() << " problem(s) in "
                  << (config_file.empty() ? std::string("the configuration") : config_file) << "\n";
        return 1;
    }
    config::HubSecretOrigin origin;
    std::string error;
    if (!config::HubSecretFile::resolve(result.config, false, origin, error)) {
        std::cerr << "token: " << error << "\n";
        return 1;
    }
    if (origin.kind == config::HubSecretOrigin::Kind::none) {
        std::cerr
            << "token: no hub secret: none in the config (hub.secret), none in RELAY_HUB_SECRET, and no "
            << origin.file << " yet. Start the relay once with the same config (`looker-segment-relay serve"
            << (config_file.empty() ? std::string() : " --config " + config_file)
            << "`, run from this directory): it creates that file. Or set RELAY_HUB_SECRET (for example "
               "export RELAY_HUB_SECRET=$(openssl rand -hex 32)) for both serve and token.\n";
        return 1;
    }
    std::string token = core::HubToken::make_token(result.config.hub.secret);
    if (token.empty()) {
        std::cerr << "token: the random number generator failed\n";
        return 1;
    }
    std::cout << token << "\n";
    return 0;
}

}  // namespace lsr::app
