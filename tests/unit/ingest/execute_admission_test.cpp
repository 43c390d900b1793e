#include "server/ingest/execute_admission.hpp"

#include <fstream>

#include "ingest_fixture.hpp"

using lsr::server::ExecuteAdmission;
using lsr::server::ExecuteSource;

namespace {

ExecuteSource webhook(std::string write_key = {}) {
    ExecuteSource s;
    s.label = "webhook:crm";
    s.webhook = true;
    s.write_key = std::move(write_key);
    return s;
}

const std::string kCsv = R"("attachment":{"mimetype":"text/csv","extension":"csv","data":"id\n1\n"})";

}  // namespace

TEST_CASE("ExecuteAdmission: the hub's order, statuses and texts", "[execute_admission]") {
    struct Row {
        const char* name;
        std::string body;
        bool webhook;
        std::string default_key;
        int status;  // 0: admitted
        std::string error;
        std::string param;
    };
    const Row rows[] = {
        {"not JSON", "{", false, "", 404, "Request body must be valid JSON.", ""},
        {"no type", R"({"data":{"segment_write_key":"wk"},)" + kCsv + "}", false, "", 404,
         "No request type specified. The request must be of type: \"query\".", ""},
        {"wrong type", R"({"type":"cell","data":{"segment_write_key":"wk"},)" + kCsv + "}", false, "", 404,
         "This action does not support requests of type \"cell\". The request must be of type: \"query\".",
         ""},
        {"no key", R"({"type":"query",)" + kCsv + "}", false, "", 404,
         "Required setting \"Segment Write Key\" not specified in action settings.", ""},
        {"default key", R"({"type":"query",)" + kCsv + "}", false, "wk-d", 0, "", ""},
        {"no data", R"({"type":"query","data":{"segment_write_key":"wk"}})", false, "", 404,
         "A streaming action was sent incompatible data. The action must have a download url or an "
         "attachment.",
         ""},
        {"bad key", R"({"type":"query","data":{"segment_write_key":"w k"},)" + kCsv + "}", false, "", 400, "",
         "segment_write_key"},
        {"webhook without type", "{" + kCsv + "}", true, "wk-d", 0, "", ""},
        {"webhook without any key", "{" + kCsv + "}", true, "", 404,
         "Required setting \"Segment Write Key\" not specified in action settings.", ""},
    };
    for (const auto& row : rows) {
        INFO(row.name);
        ExecuteSource source = row.webhook ? webhook() : ExecuteSource{};
        auto checked = ExecuteAdmission::check(row.body, {}, source, row.default_key);
        if (row.status == 0) {
            REQUIRE(std::holds_alternative<ExecuteAdmission::Admitted>(checked));
            CHECK_FALSE(std::get<ExecuteAdmission::Admitted>(checked).write_key.empty());
            continue;
        }
        REQUIRE(std::holds_alternative<ExecuteAdmission::Refused>(checked));
        const auto& refused = std::get<ExecuteAdmission::Refused>(checked);
        CHECK(refused.status == row.status);
        if (!row.error.empty()) CHECK(refused.error == row.error);
        CHECK(refused.invalid_param == row.param);
    }
}

TEST_CASE("ExecuteAdmission picks the write key: the param, the route, the default", "[execute_admission]") {
    auto key = [](const std::string& body, const ExecuteSource& source, const std::string& dflt) {
        auto checked = ExecuteAdmission::check(body, {}, source, dflt);
        REQUIRE(std::holds_alternative<ExecuteAdmission::Admitted>(checked));
        return std::get<ExecuteAdmission::Admitted>(checked).write_key;
    };
    CHECK(key(R"({"type":"query","data":{"segment_write_key":"wk-p"},)" + kCsv + "}", {}, "wk-d") == "wk-p");
    CHECK(key(R"({"type":"query","data":{"segment_write_key":""},)" + kCsv + "}", {}, "wk-d") == "wk-d");
    CHECK(key("{" + kCsv + "}", webhook("wk-route"), "wk-d") == "wk-route");
}

TEST_CASE("ExecuteAdmission reads the body file, and flags an unreadable attachment", "[execute_admission]") {
    ingest_test::TempDir tmp;
    const std::string file = (tmp.dir / "body").string();
    std::ofstream(file)
        << R"({"type":"query","data":{"segment_write_key":"wk"},"attachment":{"mimetype":"application/pdf","extension":"pdf","data":"x"}})";
    auto checked = ExecuteAdmission::check({}, file, {}, {});
    REQUIRE(std::holds_alternative<ExecuteAdmission::Admitted>(checked));
    CHECK(std::get<ExecuteAdmission::Admitted>(checked).unreadable.has_value());

    auto missing = ExecuteAdmission::check({}, (tmp.dir / "gone").string(), {}, {});
    REQUIRE(std::holds_alternative<ExecuteAdmission::Refused>(missing));
    CHECK(std::get<ExecuteAdmission::Refused>(missing).status == 500);
    CHECK(std::get<ExecuteAdmission::Refused>(missing).unreadable_body);
}
