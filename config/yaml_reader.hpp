// Reads typed values out of a yaml-cpp tree, collecting every problem with its line instead
// of stopping at the first one, and remembering where each key was so the validator can
// point at it too.
#pragma once

#include <yaml-cpp/yaml.h>

#include <initializer_list>
#include <limits>
#include <map>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "config/config.hpp"
#include "config/config_loader.hpp"

namespace lsr::config {

using KeyLocations = std::map<std::string, int>;  // "segment.region" -> line

class YamlReader {
  public:
    explicit YamlReader(std::string file) : file_(std::move(file)) {}

    // True when `n` is a map; unknown keys are reported (so typos do not pass silently).
    bool object(const YAML::Node& n, const std::string& path, std::initializer_list<const char*> keys);

    bool str(const YAML::Node& parent, const std::string& path, const char* key, std::string& out);
    bool boolean(const YAML::Node& parent, const std::string& path, const char* key, bool& out);
    bool str_list(const YAML::Node& parent, const std::string& path, const char* key,
                  std::vector<std::string>& out);
    bool str_map(const YAML::Node& parent, const std::string& path, const char* key,
                 std::map<std::string, std::string>& out);
    template <class T>
    bool num(const YAML::Node& parent, const std::string& path, const char* key, T& out);

    void host_port(const YAML::Node& n, const std::string& path, const std::string& value, std::string& host,
                   std::uint16_t& port);
    void problem(const YAML::Node& n, std::string message);
    void problem_at(int line, std::string message);
    void remember(const std::string& path, const YAML::Node& n);

    std::vector<ConfigProblem> take_problems() { return std::move(problems_); }
    const KeyLocations& locations() const { return locations_; }

  private:
    static std::string join(const std::string& path, const char* key) {
        return path.empty() ? std::string(key) : path + "." + key;
    }
    bool scalar(const YAML::Node& parent, const std::string& path, const char* key, YAML::Node& out);
    void number_problem(const YAML::Node& n, const std::string& full, const char* what);

    std::string file_;
    std::vector<ConfigProblem> problems_;
    KeyLocations locations_;
};

template <class T>
bool YamlReader::num(const YAML::Node& parent, const std::string& path, const char* key, T& out) {
    YAML::Node n;
    if (!scalar(parent, path, key, n)) return false;
    const std::string full = join(path, key);
    const std::string text = n.Scalar();
    try {
        std::size_t used = 0;
        if constexpr (std::is_floating_point_v<T>) {
            const double v = std::stod(text, &used);
            if (used != text.size() || v < 0) throw std::invalid_argument(text);
            out = static_cast<T>(v);
        } else {
            if (!text.empty() && text[0] == '-') throw std::invalid_argument(text);
            const unsigned long long v = std::stoull(text, &used, 10);
            if (used != text.size() || v > static_cast<unsigned long long>(std::numeric_limits<T>::max()))
                throw std::out_of_range(text);
            out = static_cast<T>(v);
        }
    } catch (const std::exception&) {
        number_problem(n, full,
                       std::is_floating_point_v<T> ? "a non-negative number" : "a non-negative integer");
        return false;
    }
    return true;
}

}  // namespace lsr::config
