#include "server/http/router.hpp"

namespace lsr::server {

namespace {

// Splits "/a/b/c" into its segments; the empty path and "/" have none.
std::vector<std::string_view> segments(std::string_view path) {
    std::vector<std::string_view> out;
    std::size_t i = 0;
    while (i < path.size()) {
        if (path[i] == '/') {
            ++i;
            continue;
        }
        const std::size_t end = path.find('/', i);
        const std::size_t stop = end == std::string_view::npos ? path.size() : end;
        out.push_back(path.substr(i, stop - i));
        i = stop;
    }
    return out;
}

bool match_pattern(std::string_view pattern, std::string_view path,
                   std::vector<std::pair<std::string, std::string>>& params) {
    const auto want = segments(pattern);
    const auto have = segments(path);
    if (want.size() != have.size()) return false;
    params.clear();
    for (std::size_t i = 0; i < want.size(); ++i) {
        const auto w = want[i];
        if (w.size() >= 2 && w.front() == '{' && w.back() == '}') {
            if (have[i].empty()) return false;
            params.emplace_back(std::string(w.substr(1, w.size() - 2)), std::string(have[i]));
        } else if (w != have[i]) {
            return false;
        }
    }
    return true;
}

}  // namespace

void Router::add(http::verb method, std::string pattern, BodyKind body, Handler handler, Admission admit) {
    routes_.push_back(Route{method, std::move(pattern), body, std::move(handler), std::move(admit)});
}

RouteMatch Router::match(http::verb method, std::string_view path) const {
    RouteMatch result;
    std::vector<std::pair<std::string, std::string>> params;
    for (const auto& r : routes_) {
        if (!match_pattern(r.pattern, path, params)) continue;
        if (r.method == method || (method == http::verb::head && r.method == http::verb::get)) {
            result.route = &r;
            result.params = std::move(params);
            result.method_mismatch = false;
            return result;
        }
        result.method_mismatch = true;
    }
    return result;
}

}  // namespace lsr::server
