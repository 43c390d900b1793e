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
    // Warnings (valid, but Looker will not get through), once the file has no error; they
    // never change the exit status.
    for (const auto& w : result.warnings) std::cout << w.warning_string() << "\n";
    std::cout << args[0] << ": ok";
    if (!result.warnings.empty()) std::cout << " (" << result.warnings.size() << " warning(s))";
    std::cout << "\n";
    return 0;
}

}  // namespace lsr::app
