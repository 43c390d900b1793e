#include "server/service/runs_routes.hpp"

#include <boost/asio/post.hpp>
#include <exception>

#include "core/text.hpp"
#include "server/http/http_answer.hpp"
#include "server/net/logger.hpp"
#include "server/storage/run_record_json.hpp"
#include "server/storage/sync_store.hpp"

namespace lsr::server {

namespace {

std::string_view query_of(const HttpExchange& ex) {
    const std::string_view target = ex.header().target();
    const auto mark = target.find('?');
    return mark == std::string_view::npos ? std::string_view() : target.substr(mark + 1);
}

// Runs `read` on the reads thread; an exception there (none expected: the store reports
// errors as values) answers 500 instead of ending the process.
template <class Read>
void off_io(boost::asio::thread_pool& reads, ServiceContext& ctx, const std::shared_ptr<HttpExchange>& ex,
            Read read) {
    boost::asio::post(reads, [&ctx, ex, read = std::move(read)]() mutable {
        try {
            read();
        } catch (const std::exception& e) {
            ctx.log.error("run history: read failed", {{"route", ex->route_label()}, {"error", e.what()}});
            ex->respond(http::status::internal_server_error,
                        HttpAnswer::error_json("the run history cannot be read now"));
        }
    });
}

// The main listener's rule: a hub token, else 403 (and nothing read).
bool authorized(const core::HubToken* token, HttpExchange& ex) {
    if (token == nullptr || token->verify_authorization(ex.header()[http::field::authorization])) return true;
    ex.respond(
        http::status::forbidden,
        HttpAnswer::error_json("the run history needs a hub token (Authorization: Token token=\"...\") "
                               "on this listener, or the admin listener"));
    return false;
}

}  // namespace

std::optional<RunsQuery> RunsQuery::parse(std::string_view query, std::string* error) {
    RunsQuery out;
    while (!query.empty()) {
        const auto amp = query.find('&');
        const std::string_view pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
        const auto eq = pair.find('=');
        const std::string_view name = pair.substr(0, eq);
        const std::string_view value =
            eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
        if (name != "before" && name != "limit") continue;
        const auto n = core::parse_positive_int(value);
        if (!n) {
            *error = std::string(name) + " must be a positive integer, not \"" + std::string(value) + "\"";
            return std::nullopt;
        }
        if (name == "before") {
            out.before = *n;
        } else {
            out.limit = static_cast<std::size_t>(std::min<std::int64_t>(*n, kMaxLimit));
        }
    }
    return out;
}

std::optional<std::int64_t> parse_run_id(std::string_view text) {
    return core::parse_positive_int(text);
}

void add_runs_routes(Router& router, ServiceContext& ctx, boost::asio::thread_pool& reads,
                     std::shared_ptr<const core::HubToken> token) {
    router.add(http::verb::get, "/runs", BodyKind::none,
               [&ctx, &reads, token](std::shared_ptr<HttpExchange> ex) {
                   if (!authorized(token.get(), *ex)) return;
                   std::string error;
                   const auto query = RunsQuery::parse(query_of(*ex), &error);
                   if (!query) return ex->respond(http::status::bad_request, HttpAnswer::error_json(error));
                   off_io(reads, ctx, ex, [&ctx, ex, q = *query] {
                       // One more than the page: whether an older page exists.
                       auto runs = SyncStore(ctx.spool).list_runs(q.before, q.limit + 1);
                       std::int64_t next = 0;
                       if (runs.size() > q.limit) {
                           runs.resize(q.limit);
                           next = runs.back().id;
                       }
                       ex->respond(http::status::ok, RunRecordJson::page(runs, next));
                   });
               });
    router.add(http::verb::get, "/runs/{id}", BodyKind::none,
               [&ctx, &reads, token](std::shared_ptr<HttpExchange> ex) {
                   if (!authorized(token.get(), *ex)) return;
                   const std::string_view text = ex->path_param("id");
                   const auto id = parse_run_id(text);
                   if (!id) {
                       return ex->respond(http::status::bad_request,
                                          HttpAnswer::error_json("a run id is a positive integer, not \"" +
                                                                 std::string(text) + "\""));
                   }
                   off_io(reads, ctx, ex, [&ctx, ex, id = *id] {
                       const auto run = SyncStore(ctx.spool).run(id);
                       if (!run) {
                           return ex->respond(
                               http::status::not_found,
                               HttpAnswer::error_json("no run " + std::to_string(id) + " in the history"));
                       }
                       ex->respond(http::status::ok, RunRecordJson::object(*run));
                   });
               });
}

}  // namespace lsr::server
