#include "config/yaml_reader.hpp"

#include <algorithm>
#include <cstring>

namespace lsr::config {

namespace {
int line_of(const YAML::Node& n) {
    const auto m = n.Mark();
    return m.line >= 0 ? m.line + 1 : 0;
}
}  // namespace

void YamlReader::problem(const YAML::Node& n, std::string message) {
    problems_.push_back({file_, line_of(n), std::move(message)});
}

void YamlReader::problem_at(int line, std::string message) {
    problems_.push_back({file_, line, std::move(message)});
}

void YamlReader::remember(const std::string& path, const YAML::Node& n) {
    locations_[path] = line_of(n);
}

bool YamlReader::object(const YAML::Node& n, const std::string& path,
                        std::initializer_list<const char*> keys) {
    if (!n.IsMap()) {
        problem(n, (path.empty() ? std::string("the configuration") : path) + " must be a mapping of keys");
        return false;
    }
    remember(path, n);
    for (const auto& kv : n) {
        const std::string key = kv.first.Scalar();
        const bool known = std::any_of(keys.begin(), keys.end(), [&](const char* k) { return key == k; });
        if (!known) {
            std::string allowed;
            for (const char* k : keys) allowed += std::string(allowed.empty() ? "" : ", ") + k;
            problem(kv.first,
                    "unknown key \"" + join(path, key.c_str()) + "\" (known here: " + allowed + ")");
        } else {
            remember(join(path, key.c_str()), kv.second);
        }
    }
    return true;
}

bool YamlReader::scalar(const YAML::Node& parent, const std::string& path, const char* key, YAML::Node& out) {
    const YAML::Node n = parent[key];
    if (!n) return false;
    if (!n.IsScalar()) {
        problem(n, join(path, key) + " must be a single value");
        return false;
    }
    out = n;
    return true;
}

void YamlReader::number_problem(const YAML::Node& n, const std::string& full, const char* what) {
    problem(n, full + " must be " + what + ", not \"" + n.Scalar() + "\"");
}

bool YamlReader::str(const YAML::Node& parent, const std::string& path, const char* key, std::string& out) {
    YAML::Node n;
    if (!scalar(parent, path, key, n)) return false;
    out = n.Scalar();
    return true;
}

bool YamlReader::boolean(const YAML::Node& parent, const std::string& path, const char* key, bool& out) {
    YAML::Node n;
    if (!scalar(parent, path, key, n)) return false;
    const std::string& v = n.Scalar();
    if (v == "true" || v == "yes" || v == "on") {
        out = true;
    } else if (v == "false" || v == "no" || v == "off") {
        out = false;
    } else {
        problem(n, join(path, key) + " must be true or false, not \"" + v + "\"");
        return false;
    }
    return true;
}

bool YamlReader::str_list(const YAML::Node& parent, const std::string& path, const char* key,
                          std::vector<std::string>& out) {
    const YAML::Node n = parent[key];
    if (!n) return false;
    if (!n.IsSequence()) {
        problem(n, join(path, key) + " must be a list");
        return false;
    }
    out.clear();
    for (const auto& e : n) {
        if (!e.IsScalar()) {
            problem(e, join(path, key) + " entries must be single values");
            continue;
        }
        out.push_back(e.Scalar());
    }
    return true;
}

bool YamlReader::str_map(const YAML::Node& parent, const std::string& path, const char* key,
                         std::map<std::string, std::string>& out) {
    const YAML::Node n = parent[key];
    if (!n) return false;
    if (!n.IsMap()) {
        problem(n, join(path, key) + " must be a mapping");
        return false;
    }
    for (const auto& kv : n) {
        if (!kv.second.IsScalar()) {
            problem(kv.second, join(path, key) + "." + kv.first.Scalar() + " must be a single value");
            continue;
        }
        out[kv.first.Scalar()] = kv.second.Scalar();
    }
    return true;
}

void YamlReader::host_port(const YAML::Node& n, const std::string& path, const std::string& value,
                           std::string& host_out, std::uint16_t& port_out) {
    const auto colon = value.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == value.size()) {
        problem(n, path + " must be host:port, not \"" + value + "\"");
        return;
    }
    const std::string port = value.substr(colon + 1);
    char* end = nullptr;
    const long p = std::strtol(port.c_str(), &end, 10);
    if (*end != '\0' || p < 0 || p > 65535) {
        problem(n, path + " has an invalid port \"" + port + "\"");
        return;
    }
    std::string host = value.substr(0, colon);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    host_out = host;
    port_out = static_cast<std::uint16_t>(p);
}

}  // namespace lsr::config
