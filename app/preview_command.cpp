#include "app/preview_command.hpp"

#include <iostream>

namespace lsr::app {

int run_preview(const std::vector<std::string>& args) {
    (void)args;
    std::cerr << "preview: not implemented yet\n";
    return 1;
}

}  // namespace lsr::app
