#include "app/first_hour_message.hpp"

#include <filesystem>

#include "core/hub/hub_base_url.hpp"

namespace lsr::app {

std::string FirstHourMessage::shell_quote(const std::string& word) {
    if (!word.empty() && word.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                                "0123456789_./:=@%+-") == std::string::npos)
        return word;
    std::string out = "'";
    for (char c : word) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

std::string FirstHourMessage::executable_from(const std::string& exe_path, const std::string& working_dir) {
    const std::string prefix =
        working_dir.empty() || working_dir.back() == '/' ? working_dir : working_dir + "/";
    if (!prefix.empty() && exe_path.rfind(prefix, 0) == 0 && exe_path.size() > prefix.size())
        return "./" + exe_path.substr(prefix.size());
    return exe_path;
}

std::string FirstHourMessage::absolute_from(const std::string& path, const std::string& working_dir) {
    const std::filesystem::path p(path);
    if (p.is_absolute() || working_dir.empty()) return p.lexically_normal().string();
    return (std::filesystem::path(working_dir) / p).lexically_normal().string();
}

std::string FirstHourMessage::text(const FirstHourFacts& f) {
    const auto& l = f.listening;
    using Kind = config::HubSecretOrigin::Kind;
    std::string token_cmd = "cd " + shell_quote(f.working_dir) + " && ";
    if (f.secret.kind == Kind::environment) token_cmd += "RELAY_HUB_SECRET=<the same secret> ";
    token_cmd += shell_quote(f.executable) + " token";
    if (!f.config_file.empty()) token_cmd += " --config " + shell_quote(f.config_file);

    std::string secret;
    switch (f.secret.kind) {
        case Kind::environment:
            secret = "from RELAY_HUB_SECRET (token needs the same variable)";
            break;
        case Kind::config:
            secret = "hub.secret in " + f.config_file;
            break;
        case Kind::file:
            secret = absolute_from(f.secret.file, f.working_dir) +
                     (f.secret.created ? " (created now, mode 0600)" : " (mode 0600)") +
                     "; tokens are signed with it: keep it with the spool";
            break;
        case Kind::none:
            secret = "none: every Action API request gets 403";
            break;
    }

    const auto ops = l.admin_host.empty() ? core::HubBaseUrl::for_listener(l.tls, l.listen_host, l.port)
                                          : core::HubBaseUrl::for_listener(false, l.admin_host, l.admin_port);

    std::string out;
    out += "\nlooker-segment-relay is ready. Next steps:\n";
    out += "  Action Hub URL for Looker: " + l.base_url +
           (l.base_url_followed ? "   (hub.base_url not set: follows the listener)" : "") + "\n";
    out += "  Token for Looker:          " + token_cmd + "\n";
    out += "  Hub secret:                " + secret + "\n";
    out += "  Health and status:         " + ops.url + "/healthz   " + ops.url + "/status\n";
    out += "  In Looker: Admin > Actions > Add Action Hub, with that URL and token.\n";
    const auto problems = core::HubBaseUrl::reachability_problems(l.base_url);
    if (!problems.empty() || l.wildcard_host) {
        out += "  Looker calls an Action Hub only over HTTPS, at a name it can reach; this URL is not one:\n";
        for (const auto& p : problems) out += "    - " + p + "\n";
        if (l.wildcard_host) out += "    - listening on every address: the URL above names 127.0.0.1\n";
        out +=
            "  Set hub.base_url to the public https:// URL and serve HTTPS (server.tls, or TLS at the\n"
            "  Ingress): README.md, section \"Using it from Looker\".\n";
    } else {
        out += "  Looker needs HTTPS end to end: README.md, section \"Using it from Looker\".\n";
    }
    out += "\n";
    return out;
}

}  // namespace lsr::app
