#include "app/serve_command.hpp"

#include <iostream>

#include "app/config_arg.hpp"
#include "server/service/relay_app.hpp"

namespace lsr::app {

int run_serve(const std::vector<std::string>& args) {
    std::vector<std::string> rest = args;
    auto cfg = take_config(rest);
    if (!cfg) return 1;
    if (!rest.empty()) {
        std::cerr << "serve: unexpected argument \"" << rest.front()
                  << "\"\nusage: looker-segment-relay serve [--config FILE]\n";
        return 2;
    }
    server::RelayApp app(std::move(*cfg));
    return app.run();
}

}  // namespace lsr::app
