// The hub secret kept in a file beside the spool, for an installation where none is
// configured: the first `serve` creates it (32 random bytes from the OS, 64 hex characters,
// mode 0600, published atomically and fsynced), every later start and `token` read it. A
// secret from the config file (hub.secret) or the environment (RELAY_HUB_SECRET) always wins
// and the file is then left alone. A file that exists but cannot be read or does not hold a
// secret is an error naming the file, never silently replaced.
#pragma once

#include <optional>
#include <string>

#include "config/config.hpp"

namespace lsr::config {

struct HubSecretOrigin {
    enum class Kind { config, environment, file, none };
    Kind kind = Kind::none;
    std::string file;              // the secret file (kind file), or the file it would be (kind none)
    bool created = false;          // kind file: created by this call
    std::string describe() const;  // "RELAY_HUB_SECRET", "hub.secret in relay.yaml", the file
};

class HubSecretFile {
  public:
    static constexpr const char* file_name = "hub-secret";

    // <directory of spool.path>/hub-secret ("./hub-secret" for a bare file name).
    static std::string path_for(const SpoolConfig& spool);

    // The secret in `path`; nullopt with an empty `error` when there is no such file, with
    // `error` set when the file exists but is unreadable or malformed.
    static std::optional<std::string> read(const std::string& path, std::string& error);

    // read(), else creates the file (and its directory, mode 0700) with a new secret. When two
    // processes race, both end up with the one secret that was published first.
    static std::optional<std::string> read_or_create(const std::string& path, bool& created,
                                                     std::string& error);

    // Fills c.hub.secret when the config and the environment gave none: from the file, created
    // when `create` (serve), only read otherwise (token). Returns false with `error` when the
    // file is unusable; true with origin.kind none when there is no secret anywhere.
    static bool resolve(Config& c, bool create, HubSecretOrigin& origin, std::string& error);

    static bool well_formed(const std::string& secret);  // 64 hex characters
};

}  // namespace lsr::config
