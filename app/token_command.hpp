// `looker-segment-relay token [--config FILE]`: prints a new signed Action Hub token for the
// configured hub secret (the file's hub.secret, or RELAY_HUB_SECRET). Any number of tokens
// may be made; each stays valid until the secret changes.
#pragma once

#include <string>
#include <vector>

namespace lsr::app {

int run_token(const std::vector<std::string>& args);

}  // namespace lsr::app
