#include "server/service/webhook_routes.hpp"

#include <memory>

#include "core/hub/execute_report.hpp"
#include "core/hub/hub_token.hpp"
#include "core/mapping/call_type.hpp"
#include "server/net/logger.hpp"
#include "server/service/execute_handler.hpp"

namespace lsr::server {

namespace {

constexpr const char* kInvalidToken = "Invalid 'X-Looker-Webhook-Token' header.";

bool any_identity(const core::IdentityColumns& c) {
    return !c.user_id.empty() || !c.anonymous_id.empty() || !c.email.empty() || !c.group_id.empty();
}

}  // namespace

void register_webhook_routes(Router& router, ServiceContext& ctx, std::shared_ptr<ExecuteHandler> execute) {
    if (ctx.config.webhooks.empty()) return;
    for (const auto& route : ctx.config.webhooks) {
        ExecuteSource source;
        source.label = "webhook:" + (route.name.empty() ? route.path : route.name);
        source.call = core::parse_call_type(route.call).value_or(core::CallType::identify);
        source.webhook = true;
        source.write_key = route.write_key;
        source.event = route.event;
        if (any_identity(route.identity)) source.identity = route.identity;
        source.sync_params = {{"sync", route.sync},
                              {"audience_key", route.audience_key},
                              {"audience_events", route.audience_events},
                              {"resync", route.resync ? "yes" : "no"},
                              {"allow_mass_exit", route.allow_mass_exit ? "yes" : "no"}};
        const std::string token = route.token;
        if (token.empty()) {
            ctx.log.warn("webhook route without a token: every request will get 403",
                         {{"route", route.path}});
        }
        router.add(
            http::verb::post, route.path, BodyKind::large_file,
            [execute, source, token, &ctx](std::shared_ptr<HttpExchange> ex) {
                auto given = ex->header()["X-Looker-Webhook-Token"];
                if (token.empty() || !core::HubToken::constant_time_equal(given, token)) {
                    execute->metrics().execute(source.label, "unauthorized");
                    ctx.log.info("webhook: unauthorized",
                                 {{"route", ex->route_label()}, {"remote", ex->remote_address()}});
                    ex->respond(http::status::forbidden, core::ExecuteReport::error_body(kInvalidToken));
                    return;
                }
                execute->handle(ex, source);
            },
            [execute, label = source.label, token, &ctx,
             path = route.path](const http::request_header<>& h) -> std::optional<Refusal> {
                // Checked on the headers, so an unauthenticated body is never stored.
                if (!token.empty() && core::HubToken::constant_time_equal(h["X-Looker-Webhook-Token"], token))
                    return std::nullopt;
                execute->metrics().execute(label, "unauthorized");
                ctx.log.info("webhook: unauthorized", {{"route", path}});
                return Refusal{http::status::forbidden, core::ExecuteReport::error_body(kInvalidToken)};
            });
    }
}

}  // namespace lsr::server
