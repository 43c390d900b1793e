// The HTTP request parser as the session drives it (Beast's request_parser: the headers
// first under the header limit, then the body under the route's limit) and the Router over
// the service's route patterns. Nothing may crash or read out of bounds, the bytes the
// parser holds stay within the limits, and a matched route's parameters are whole path
// segments.
#include <boost/asio/buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "server/http/listener_limits.hpp"
#include "server/http/router.hpp"

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
using lsr::server::BodyKind;
using lsr::server::Router;

// The listener's defaults (ListenerLimits); the large-body limit is the small one
// here, since the fuzzer's inputs are small and the parser's logic is the same.
const lsr::server::ListenerLimits kLimits;

// The patterns the service registers (operator, Action API and one webhook route).
Router make_router() {
    Router r;
    const auto none = [](std::shared_ptr<lsr::server::HttpExchange>) {};
    for (const char* p : {"/healthz", "/readyz", "/status", "/metrics"})
        r.add(http::verb::get, p, BodyKind::small, none);
    r.add(http::verb::post, "/", BodyKind::small, none);
    r.add(http::verb::post, "/actions/{name}", BodyKind::small, none);
    r.add(http::verb::post, "/actions/{name}/form", BodyKind::small, none);
    r.add(http::verb::post, "/actions/{name}/execute", BodyKind::large_file, none);
    r.add(http::verb::post, "/webhooks/crm", BodyKind::large_file, none);
    return r;
}

// Feeds `in` to the parser as beast::http::read does (the unconsumed rest is offered again
// with more data; here all data is there at once). Stops once the headers (or the whole
// message) are done, on an error, or at the end of the input (then put_eof).
// The end of the input, as beast::http::read treats it: end_of_stream before any byte,
// else put_eof (a message without a length ends here; anything else is partial_message).
template <class Parser>
void end_of_input(Parser& p, beast::error_code& ec) {
    if (p.got_some()) {
        p.put_eof(ec);
    } else {
        ec = http::error::end_of_stream;
    }
}

template <class Parser>
std::size_t feed(Parser& p, std::string_view in, bool header_only, beast::error_code& ec) {
    std::size_t used = 0;
    for (;;) {
        if (header_only ? p.is_header_done() : p.is_done()) return used;
        const std::string_view rest = in.substr(used);
        if (rest.empty()) {
            end_of_input(p, ec);
            return used;
        }
        const std::size_t n = p.put(boost::asio::buffer(rest.data(), rest.size()), ec);
        used += n;
        if (ec == http::error::need_more) {
            ec = {};
            if (n == 0) {  // the rest is not enough: the input ended
                end_of_input(p, ec);
                return used;
            }
            continue;
        }
        if (ec) return used;
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const Router router = make_router();
    const std::string_view in(reinterpret_cast<const char*>(data), size);

    http::request_parser<http::empty_body> header;
    header.header_limit(kLimits.max_header_bytes);
    header.body_limit(boost::none);  // the route's limit comes with the route, as in the session
    beast::error_code ec;
    const std::size_t used = feed(header, in, true, ec);
    if (ec || !header.is_header_done()) return 0;
    if (used > in.size()) std::abort();

    const auto& h = header.get();
    const std::string_view target = h.target();
    const std::string_view path = target.substr(0, target.find('?'));
    const lsr::server::RouteMatch m = router.match(h.method(), path);
    if (m.route) {
        if (m.method_mismatch) std::abort();
        for (const auto& [name, value] : m.params)
            if (name.empty() || value.empty() || value.find('/') != std::string::npos) std::abort();
    }
    if (header.is_done()) return 0;

    // The body, under the route's limit (unmatched routes are refused before any body is read).
    const std::uint64_t limit = kLimits.max_small_body_bytes;
    http::request_parser<http::string_body> body(std::move(header));
    body.body_limit(limit);
    feed(body, in.substr(used), false, ec);
    if (body.get().body().size() > limit) std::abort();
    return 0;
}
