// What `serve` tells a person on stderr once it listens (the JSON logs stay on stdout): the
// Action Hub URL to give Looker, the exact command that makes a token, where the hub secret
// lives, the health and status URLs, and that Looker needs HTTPS.
#pragma once

#include <string>

#include "config/hub_secret_file.hpp"
#include "server/service/listening_info.hpp"

namespace lsr::app {

struct FirstHourFacts {
    server::ListeningInfo listening;
    std::string config_file;  // as given on the command line; empty: embedded defaults
    config::HubSecretOrigin secret;
    std::string working_dir;  // where serve runs (relative paths resolve from here)
    std::string executable;   // the binary, as the token command should name it
};

class FirstHourMessage {
  public:
    static std::string text(const FirstHourFacts& facts);
    // The binary's path for a command run from `working_dir`: ./relative when below it.
    static std::string executable_from(const std::string& exe_path, const std::string& working_dir);
    static std::string shell_quote(const std::string& word);
    static std::string absolute_from(const std::string& path, const std::string& working_dir);
};

}  // namespace lsr::app
