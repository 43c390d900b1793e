#include "app/config_arg.hpp"

#include <iostream>

#include "config/config_loader.hpp"

namespace lsr::app {

std::optional<config::Config> take_config(std::vector<std::string>& args) {
    std::string file;
    for (std::size_t i = 0; i < args.size(); ++i) {
        if (args[i] == "--config" && i + 1 < args.size()) {
            file = args[i + 1];
            args.erase(args.begin() + static_cast<long>(i), args.begin() + static_cast<long>(i) + 2);
            break;
        }
        if (args[i].rfind("--config=", 0) == 0) {
            file = args[i].substr(9);
            args.erase(args.begin() + static_cast<long>(i));
            break;
        }
    }
    const auto result =
        file.empty() ? config::ConfigLoader::defaults() : config::ConfigLoader::load_file(file);
    if (!result.ok()) {
        for (const auto& p : result.problems) std::cerr << p.to_string() << "\n";
        std::cerr << result.problems.size() << " problem(s) in the configuration\n";
        return std::nullopt;
    }
    return result.config;
}

}  // namespace lsr::app
