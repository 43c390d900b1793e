#include "app/check_config_command.hpp"

#include <iostream>

#include "config/config_loader.hpp"

namespace lsr::app {

int run_check_config(const std::vector<std::string>& args) {
    if (args.size() != 1) {
        std::cerr << "usage: looker-segment-relay check-config FILE\n";
        return 2;
    }
    const auto result = config::ConfigLoader::load_file(args[0]);
    if (!result.ok()) {
        for (const auto& p : result.problems) std::cout << p.to_string() << "\n";
        std::cout << result.problems.size() << " problem(s) in " << args[0] << "\n";
        return 1;
    }
    std::cout << args[0] << ": ok\n";
    return 0;
}

}  // namespace lsr::app
