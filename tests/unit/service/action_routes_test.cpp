// The Action API and webhook routes (see route_test_fixture.hpp).
#include "server/service/action_routes.hpp"

#include "route_test_fixture.hpp"

TEST_CASE("Action routes refuse bad tokens with the hub's 403", "[action_routes]") {
    Relay relay;
    for (const std::string& header :
         {std::string(), std::string("Token abc"), std::string("Token token=\"abc\""),
          std::string("Token token=\"n0nce/abc\""),
          std::string("Token token=\"n0nce/") + std::string(128, 'a') + "\""}) {
        for (const char* path : {"/", "/actions/segment_event", "/actions/segment_track/form",
                                 "/actions/segment_event/execute"}) {
            std::vector<std::pair<std::string, std::string>> headers;
            if (!header.empty()) headers.emplace_back("Authorization", header);
            auto ex = relay.call(path, "{}", headers);
            CHECK(ex->status() == http::status::forbidden);
            CHECK(ex->out() == R"({"success":false,"error":"Invalid 'Authorization' header."})");
        }
    }
}

TEST_CASE("Action routes list, describe and form", "[action_routes]") {
    Relay relay;
    auto list =
        relay.call("/", "", {{"Authorization", auth()}, {"User-Agent", "LookerOutgoingWebhook/5.0.0"}});
    CHECK(list->status() == http::status::ok);
    CHECK(list->out().find("\"segment_event\"") != std::string::npos);
    CHECK(list->out().find("\"segment_track\"") == std::string::npos);
    auto one = relay.call("/actions/segment_group", "", {{"Authorization", auth()}});
    CHECK(one->out().find(R"("tag":"segment_group_id")") != std::string::npos);
    auto missing = relay.call("/actions/other", "", {{"Authorization", auth()}});
    CHECK(missing->status() == http::status::not_found);
    CHECK(missing->out() == R"({"success":false,"error":"No action found with name other."})");
    auto form = relay.call("/actions/segment_track/form", R"({"data":{"segment_write_key":"k"}})",
                           {{"Authorization", auth()}});
    CHECK(form->out().rfind(R"({"fields":[{"name":"event")", 0) == 0);
    // Every action has a form: the sync fields (Track's event first).
    auto identify_form = relay.call("/actions/segment_event/form", R"({"data":{"segment_write_key":"k"}})",
                                    {{"Authorization", auth()}});
    CHECK(identify_form->out().rfind(R"({"fields":[{"name":"sync")", 0) == 0);
    auto group_form = relay.call("/actions/segment_group/form", "", {{"Authorization", auth()}});
    CHECK(group_form->out() ==
          R"({"error":"Required setting \"Segment Write Key\" not specified in action settings."})");
}

TEST_CASE("Execute spools the events and answers with the counts", "[action_routes]") {
    Relay relay;
    auto ex = relay.call("/actions/segment_event/execute", execute_body(json_detail(3)),
                         {{"Authorization", auth()}});
    CHECK(ex->status() == http::status::ok);
    CHECK(
        ex->out() ==
        R"({"looker":{"success":true,"message":"3 rows: 3 accepted, 0 rejected.","refresh_query":false,"validation_errors":{}}})");
    CHECK(ex->answers() == 1);
    auto stats = relay.spool->stats();
    CHECK(stats.events == 3);
    CHECK(stats.batches == 1);
}

TEST_CASE("Execute validation answers 404 with the hub's texts", "[action_routes]") {
    Relay relay;
    auto run = [&](const std::string& body) {
        auto ex = relay.call("/actions/segment_event/execute", body, {{"Authorization", auth()}});
        CHECK(ex->status() == http::status::not_found);
        return ex->out();
    };
    CHECK(
        run(R"({"data":{"segment_write_key":"k"}})") ==
        R"({"success":false,"error":"No request type specified. The request must be of type: \"query\"."})");
    CHECK(
        run(R"({"type":"cell"})") ==
        R"({"success":false,"error":"This action does not support requests of type \"cell\". The request must be of type: \"query\"."})");
    CHECK(
        run(R"({"type":"query","data":{}})") ==
        R"({"success":false,"error":"Required setting \"Segment Write Key\" not specified in action settings."})");
    CHECK(
        run(R"({"type":"query","data":{"segment_write_key":"k"}})") ==
        R"({"success":false,"error":"A streaming action was sent incompatible data. The action must have a download url or an attachment."})");
    CHECK(run("") == R"({"success":false,"error":"Request body must be valid JSON."})");
    CHECK(relay.spool->stats().events == 0);
}

TEST_CASE("Execute answers 503 with Retry-After when the spool is full", "[action_routes]") {
    Relay relay([](lsr::config::Config& c) {
        c.spool.max_bytes = 1024 * 1024;  // the spool's files on disk
        c.segment.max_batch_events = 100;
    });
    auto ex = relay.call("/actions/segment_event/execute", execute_body(json_detail(10000)),
                         {{"Authorization", auth()}});
    CHECK(ex->status() == http::status::service_unavailable);
    CHECK(ex->retry_after() == "30");
    auto stats = relay.spool->stats();
    CHECK(stats.events > 0);
    CHECK(stats.events < 10000);
    CHECK(ex->out().find(std::to_string(stats.events) +
                         " rows were accepted before that and will be delivered.") != std::string::npos);
}

TEST_CASE("Execute keeps the connection alive and always ends with JSON", "[action_routes]") {
    // A "Looker" that accepts the download and never answers.
    asio::io_context lio;
    asio::ip::tcp::acceptor acceptor(lio, {asio::ip::make_address("127.0.0.1"), 0});
    auto port = acceptor.local_endpoint().port();
    asio::ip::tcp::socket held(lio);
    std::thread looker([&] {
        boost::system::error_code ec;
        acceptor.accept(held, ec);
    });
    Relay relay([](lsr::config::Config& c) {
        c.server.execute_keepalive_ms = 30;
        c.hub.download.allowed_hosts = {"127.0.0.1"};
        c.hub.download.allow_loopback_http = true;
        c.hub.download.timeout_ms = 400;
    });
    std::string body = R"({"type":"query","scheduled_plan":{"download_url":"http://127.0.0.1:)" +
                       std::to_string(port) + R"(/dl"},"data":{"segment_write_key":"k"}})";
    auto ex = relay.call("/actions/segment_event/execute", body, {{"Authorization", auth()}});
    looker.join();
    CHECK(ex->streamed());
    CHECK(ex->status() == http::status::ok);
    std::string out = ex->out();
    REQUIRE(out.size() > 3);
    CHECK(out.substr(0, 3) == "\n\n\n");
    auto json = out.substr(out.find_first_not_of('\n'));
    CHECK(json.rfind(R"({"looker":{"success":false,"message":"Timed out waiting for Looker's answer)", 0) ==
          0);
    CHECK(json.back() == '}');
}

TEST_CASE("Webhook routes check their own token", "[webhook_routes]") {
    Relay relay([](lsr::config::Config& c) {
        lsr::config::WebhookRoute r;
        r.name = "crm";
        r.path = "/webhooks/crm";
        r.token = "tok-crm";
        r.write_key = "wk-crm";
        r.identity.user_id = "id";
        c.webhooks.push_back(r);
    });
    std::string body =
        R"({"type":"query","attachment":{"mimetype":"text/csv","extension":"csv","data":"id,plan\n1,pro\n2,free\n"}})";
    auto denied = relay.call("/webhooks/crm", body, {{"X-Looker-Webhook-Token", "tok-crm2"}});
    CHECK(denied->status() == http::status::forbidden);
    CHECK(denied->out() == R"({"success":false,"error":"Invalid 'X-Looker-Webhook-Token' header."})");
    auto hub = relay.call("/webhooks/crm", body, {{"Authorization", auth()}});
    CHECK(hub->status() == http::status::forbidden);
    auto ok = relay.call("/webhooks/crm", body, {{"X-Looker-Webhook-Token", "tok-crm"}});
    CHECK(ok->status() == http::status::ok);
    CHECK(
        ok->out() ==
        R"({"looker":{"success":true,"message":"2 rows: 2 accepted, 0 rejected.","refresh_query":false,"validation_errors":{}}})");
    // The dispatcher may have leased the batch already; the spool still counts it.
    CHECK(relay.spool->stats().events == 2);
    CHECK(relay.spool->stats().batches == 1);
}

TEST_CASE("ExecuteHandler bodies", "[execute_handler]") {
    CHECK(ExecuteHandler::looker_body(true, "") ==
          R"({"looker":{"success":true,"refresh_query":false,"validation_errors":{}}})");
    CHECK(
        ExecuteHandler::looker_body(false, "a \"b\"\n") ==
        R"({"looker":{"success":false,"message":"a \"b\"\n","refresh_query":false,"validation_errors":{}}})");
    CHECK(ExecuteHandler::error_body("x") == R"({"success":false,"error":"x"})");
}
