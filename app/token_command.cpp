#include "app/token_command.hpp"

#include <cstdlib>
#include <iostream>

#include "config/config_loader.hpp"
#include "core/hub/hub_token.hpp"

namespace lsr::app {

namespace {

constexpr const char* kUsage =
    "usage: looker-segment-relay token [--config FILE]\n"
    "Prints a new Action Hub token signed with hub.secret (or RELAY_HUB_SECRET).\n"
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
    std::string secret;
    if (!config_file.empty()) {
        auto result = config::ConfigLoader::load_file(config_file);
        if (!result.ok()) {
            for (const auto& p : result.problems) std::cerr << p.to_string() << "\n";
            std::cerr << result.problems.size() << " problem(s) in " << config_file << "\n";
            return 1;
        }
        secret = result.config.hub.secret;
    } else if (const char* env = std::getenv("RELAY_HUB_SECRET")) {
        secret = env;
    }
    if (secret.empty()) {
        std::cerr << "token: no hub secret: set hub.secret in the config file (--config FILE) or "
                     "RELAY_HUB_SECRET\n";
        return 1;
    }
    std::string token = core::HubToken::make_token(secret);
    if (token.empty()) {
        std::cerr << "token: the random number generator failed\n";
        return 1;
    }
    std::cout << token << "\n";
    return 0;
}

}  // namespace lsr::app
