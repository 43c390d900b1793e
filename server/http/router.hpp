// Maps method + path to a handler. Patterns are literal segments and "{param}" segments.
// A path that matches a pattern under another method gives 405, no match at all 404.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "server/http/http_exchange.hpp"

namespace lsr::server {

// none: the route takes no body; a request that brings one is refused (413) before any of it
// is read. small: in memory, up to max_small_body_bytes. large_file: a temp file.
enum class BodyKind { none, small, large_file };

// An answer given from the headers alone, before any of the body is read (e.g. a bad token:
// an unauthenticated client never gets to make the relay store a large body).
struct Refusal {
    http::status status;
    std::string body;  // JSON
};
using Admission = std::function<std::optional<Refusal>(const http::request_header<>&)>;

struct Route {
    http::verb method;
    std::string pattern;  // "/actions/{name}/execute"
    BodyKind body = BodyKind::small;
    Handler handler;
    Admission admit;  // optional
};

struct RouteMatch {
    const Route* route = nullptr;  // null: no match
    bool method_mismatch = false;  // path exists under another method
    std::vector<std::pair<std::string, std::string>> params;
};

class Router {
  public:
    void add(http::verb method, std::string pattern, BodyKind body, Handler handler, Admission admit = {});
    RouteMatch match(http::verb method, std::string_view path) const;

  private:
    std::vector<Route> routes_;
};

}  // namespace lsr::server
