// GET /runs?before=ID&limit=N (the run history, newest first, paged: default 50, at most 500)
// and GET /runs/{id} (one run; 404 when unknown, 400 for an id that is not one), as
// RunRecordJson writes them. Registered beside /status (operator_routes.cpp): open on the
// admin listener; on the main one (which faces Looker, often the internet) only with a hub
// token (`Authorization: Token token="…"`, what `looker-segment-relay token` makes), since a
// run names schedules and their answers. SQLite is read on `reads` (a thread of the operator
// routes), never on an I/O thread.
#pragma once

#include <boost/asio/thread_pool.hpp>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/hub/hub_token.hpp"
#include "server/http/router.hpp"
#include "server/service/service_context.hpp"

namespace lsr::server {

struct RunsQuery {
    static constexpr std::size_t kDefaultLimit = 50;
    static constexpr std::size_t kMaxLimit = 500;

    std::int64_t before = 0;  // 0: from the newest
    std::size_t limit = kDefaultLimit;

    // The query string of GET /runs ("before=12&limit=10", without '?'); unknown parameters
    // are ignored, a limit above kMaxLimit is kMaxLimit. nullopt and *error when a value is
    // not a positive integer.
    static std::optional<RunsQuery> parse(std::string_view query, std::string* error);
};

// A run id of GET /runs/{id}: a positive integer, else nullopt.
std::optional<std::int64_t> parse_run_id(std::string_view text);

// `token` null: no authorization asked (the admin listener).
void add_runs_routes(Router& router, ServiceContext& ctx, boost::asio::thread_pool& reads,
                     std::shared_ptr<const core::HubToken> token);

}  // namespace lsr::server
