#include "server/service/action_routes.hpp"

#include <memory>

#include "core/core_error.hpp"
#include "core/delivery/write_key_rule.hpp"
#include "core/hub/action_catalog.hpp"
#include "core/hub/execute_payload_scanner.hpp"
#include "core/hub/execute_report.hpp"
#include "core/hub/execute_request_validator.hpp"
#include "core/hub/hub_token.hpp"
#include "core/mapping/call_type.hpp"
#include "server/net/logger.hpp"
#include "server/service/execute_handler.hpp"

namespace lsr::server {

namespace {

constexpr const char* kInvalidAuth = "Invalid 'Authorization' header.";

struct ActionApi {
    ActionApi(ServiceContext& c, std::shared_ptr<ExecuteHandler> e, const std::string& base_url)
        : ctx(c),
          catalog(c.config.hub.label, base_url, c.config.hub.actions),
          auth(c.config.hub.secret, c.config.hub.tokens),
          execute(std::move(e)) {
        catalog.set_form_defaults(
            {c.config.sync.mode, c.config.sync.audience_events, c.config.sync.max_exit_fraction});
    }

    ServiceContext& ctx;
    core::ActionCatalog catalog;
    core::HubToken auth;
    std::shared_ptr<ExecuteHandler> execute;

    // Runs on the headers alone, before the body is read.
    std::optional<Refusal> admit(const http::request_header<>& header, std::string_view route) {
        const auto value = header[http::field::authorization];
        if (auth.verify_authorization(value)) return std::nullopt;
        execute->metrics().execute(std::string(route), "unauthorized");
        ctx.log.info("action hub: unauthorized", {{"route", route}, {"header_present", !value.empty()}});
        return Refusal{http::status::forbidden, core::ExecuteReport::error_body(kInvalidAuth)};
    }

    bool authorized(HttpExchange& ex) {
        auto header = ex.header()[http::field::authorization];
        if (auth.verify_authorization(header)) return true;
        execute->metrics().execute(std::string(ex.route_label()), "unauthorized");
        ctx.log.info("action hub: unauthorized", {{"route", ex.route_label()},
                                                  {"remote", ex.remote_address()},
                                                  {"header_present", !header.empty()}});
        ex.respond(http::status::forbidden, core::ExecuteReport::error_body(kInvalidAuth));
        return false;
    }

    static std::optional<core::LookerVersion> version(HttpExchange& ex) {
        return core::LookerVersion::from_user_agent(ex.header()[http::field::user_agent]);
    }

    const core::ActionInfo* find(HttpExchange& ex) {
        auto name = ex.path_param("name");
        const auto* action = catalog.find(name, version(ex));
        if (!action) {
            ex.respond(http::status::not_found, core::ExecuteReport::error_body("No action found with name " +
                                                                                std::string(name) + "."));
        }
        return action;
    }

    void list(const std::shared_ptr<HttpExchange>& ex) {
        if (!authorized(*ex)) return;
        ex->respond(http::status::ok, catalog.list_json(version(*ex)));
    }

    void definition(const std::shared_ptr<HttpExchange>& ex) {
        if (!authorized(*ex)) return;
        if (const auto* action = find(*ex))
            ex->respond(http::status::ok, catalog.definition_json(*action, version(*ex)));
    }

    void form(const std::shared_ptr<HttpExchange>& ex) {
        if (!authorized(*ex)) return;
        const auto* action = find(*ex);
        if (!action) return;
        if (!action->has_form) {
            ex->respond(http::status::not_found,
                        core::ExecuteReport::error_body("No form defined for action."));
            return;
        }
        // The hub parses the body like an execute payload and checks the required params
        // (from `data`) before it builds the form. The same bounded scanner as execute: an
        // iterative scan, nesting refused beyond core::kMaxJsonDepth.
        std::string write_key;
        const std::string& body = ex->body();
        bool blank = body.find_first_not_of(" \t\r\n") == std::string::npos;
        if (!blank) {
            core::ExecutePayloadScanner scanner;
            std::error_code ec = scanner.feed(body);
            if (!ec) ec = scanner.finish();
            if (ec) {
                const bool deep = ec == core::CoreError::too_deep;
                ctx.log.info("action hub: form body refused",
                             {{"route", ex->route_label()}, {"error", scanner.error_message()}});
                ex->respond(
                    deep ? http::status::bad_request : http::status::not_found,
                    core::ExecuteReport::error_body(deep ? scanner.error_message()
                                                         : std::string("Request body must be valid JSON.")));
                return;
            }
            const auto& params = scanner.request().params;
            if (auto key = params.find(std::string(core::ActionCatalog::write_key_param));
                key != params.end())
                write_key = key->second;
        }
        if (write_key.empty() && ctx.config.segment.default_write_key.empty()) {
            return form_error(
                *ex, core::ExecuteRequestValidator::missing_setting(core::ActionCatalog::write_key_label));
        }
        if (!write_key.empty()) {
            if (auto problem = core::WriteKeyRule::problem(write_key)) return form_error(*ex, *problem);
        }
        ex->respond(http::status::ok, catalog.form_json(*action));
    }

    // The hub's form answer for a settings problem: {"error": …} alone, status 200.
    static void form_error(HttpExchange& ex, std::string_view error) {
        ex.respond(http::status::ok, core::ExecuteReport::form_error_body(error));
    }

    void run_execute(const std::shared_ptr<HttpExchange>& ex) {
        if (!authorized(*ex)) return;
        const auto* action = find(*ex);
        if (!action) return;
        ExecuteSource source;
        source.label = action->name;
        source.call = core::parse_call_type(action->call).value_or(core::CallType::identify);
        execute->handle(ex, std::move(source));
    }
};

}  // namespace

void register_action_routes(Router& router, ServiceContext& ctx, std::shared_ptr<ExecuteHandler> execute,
                            const std::string& base_url) {
    auto api = std::make_shared<ActionApi>(ctx, std::move(execute), base_url);
    if (ctx.config.hub.secret.empty() && ctx.config.hub.tokens.empty()) {
        ctx.log.warn("action hub: no hub.secret and no hub.tokens: every Action API request will get 403");
    }
    auto admit = [api](std::string route) {
        return [api, route](const http::request_header<>& h) { return api->admit(h, route); };
    };
    router.add(
        http::verb::post, "/", BodyKind::small, [api](std::shared_ptr<HttpExchange> ex) { api->list(ex); },
        admit("/"));
    router.add(
        http::verb::post, "/actions/{name}", BodyKind::small,
        [api](std::shared_ptr<HttpExchange> ex) { api->definition(ex); }, admit("/actions/{name}"));
    router.add(
        http::verb::post, "/actions/{name}/form", BodyKind::small,
        [api](std::shared_ptr<HttpExchange> ex) { api->form(ex); }, admit("/actions/{name}/form"));
    router.add(
        http::verb::post, "/actions/{name}/execute", BodyKind::large_file,
        [api](std::shared_ptr<HttpExchange> ex) { api->run_execute(ex); }, admit("/actions/{name}/execute"));
}

}  // namespace lsr::server
