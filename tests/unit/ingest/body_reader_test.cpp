// The body reader: attachment spans in memory and in a file, the download's chunks, the
// format decided from the first bytes, the mapper's events handed to the sink.
#include "server/ingest/body_reader.hpp"

#include <fstream>

#include "core/hub/execute_payload_scanner.hpp"
#include "ingest_fixture.hpp"

using namespace ingest_test;
using lsr::server::BodyReader;

namespace {

struct Sink : lsr::core::EventSink {
    std::vector<std::string> events;
    void on_event(const lsr::core::MappedEvent& e) override { events.emplace_back(e.json); }
    void on_reject(const lsr::core::RowReject&) override {}
};

lsr::core::MapperOptions options() {
    lsr::core::MapperOptions o;
    o.mapping.identity.user_id = "id";
    o.received_at_ms = 1'700'000'000'000;
    return o;
}

BodyReader::Origin csv_origin() {
    BodyReader::Origin o;
    o.action_api = false;
    o.inline_attachment = true;
    o.mimetype = "text/csv";
    o.extension = "csv";
    return o;
}

lsr::core::ExecuteRequest scan(const std::string& payload) {
    lsr::core::ExecutePayloadScanner scanner;
    REQUIRE_FALSE(scanner.feed(payload));
    REQUIRE_FALSE(scanner.finish());
    return scanner.request();
}

}  // namespace

TEST_CASE("BodyReader reads an attachment span from memory and from the body file", "[body_reader]") {
    const std::string payload = R"({"type":"query","attachment":{"mimetype":"text/csv","extension":"csv",)"
                                R"("data":"id,plan\n1,pro\n2,free\n3,pro\n"}})";
    const auto request = scan(payload);
    TempDir tmp;
    const std::string file = (tmp.dir / "body").string();
    std::ofstream(file) << payload;
    for (bool from_file : {false, true}) {
        Sink sink;
        BodyReader reader(
            options(), csv_origin(), sink, [] { return false; }, [] { return false; });
        std::string failure;
        int cut = 0;
        REQUIRE(reader.read_attachment(from_file ? std::string() : payload, from_file ? file : std::string(),
                                       request.attachment, failure, [&] { ++cut; }));
        reader.end_of_data(failure.empty());
        CHECK(failure.empty());
        CHECK(cut == 0);
        CHECK_FALSE(reader.failed());
        CHECK(sink.events.size() == 3);
        CHECK(reader.summary().accepted == 3);
        CHECK(reader.format_name() == "csv");
    }
}

TEST_CASE("BodyReader reports a body file that cannot be opened", "[body_reader]") {
    const auto request =
        scan(R"({"type":"query","attachment":{"mimetype":"text/csv","extension":"csv","data":"id\n1\n"}})");
    Sink sink;
    BodyReader reader(
        options(), csv_origin(), sink, [] { return false; }, [] { return false; });
    std::string failure;
    CHECK_FALSE(reader.read_attachment({}, "/nonexistent/lsr-body", request.attachment, failure, {}));
    CHECK(failure == "The request body could not be read again.");
}

TEST_CASE("BodyReader stops reading when interrupted and says it was cut short", "[body_reader]") {
    const auto request =
        scan(R"({"type":"query","attachment":{"mimetype":"text/csv","extension":"csv","data":"id\n1\n"}})");
    const std::string payload =
        R"({"type":"query","attachment":{"mimetype":"text/csv","extension":"csv","data":"id\n1\n"}})";
    Sink sink;
    BodyReader reader(
        options(), csv_origin(), sink, [] { return false; }, [] { return true; });
    std::string failure;
    int cut = 0;
    REQUIRE(reader.read_attachment(payload, {}, request.attachment, failure, [&] {
        ++cut;
        failure = "interrupted";
    }));
    reader.end_of_data(failure.empty());
    CHECK(cut == 1);
    CHECK(sink.events.empty());
}

TEST_CASE("BodyReader decides the format from the first bytes of a download's chunks", "[body_reader]") {
    BodyReader::Origin origin;
    origin.action_api = false;
    Sink sink;
    BodyReader reader(
        options(), origin, sink, [] { return false; }, [] { return false; });
    reader.consume("[{\"id\":1},");
    CHECK(sink.events.empty());  // still sniffing: less than kFormatSniffBytes
    reader.consume("{\"id\":2}]");
    reader.end_of_data(true);
    CHECK(reader.format_name() == "json");
    CHECK(sink.events.size() == 2);
}

TEST_CASE("BodyReader halts on the mapper's refusal and keeps its text", "[body_reader]") {
    BodyReader::Origin origin;  // an Action API result: json_detail
    Sink sink;
    BodyReader reader(
        lsr::core::MapperOptions{}, origin, sink, [] { return false; }, [] { return false; });
    reader.consume(R"({"fields":{"dimensions":[]},"data":[{"a":{"value":1}}]})");
    reader.end_of_data(true);
    CHECK(reader.failed());
    CHECK(reader.halted());
    CHECK(reader.error_message() ==
          "Query requires a field tagged email or user_id or segment_anonymous_id.");
}

TEST_CASE("BodyReader maps a download chunk read before an interruption", "[body_reader]") {
    // The downloader hands over what it received before it stopped; the interruption stops
    // the reading, not the mapping of what was read.
    BodyReader::Origin origin;
    origin.action_api = false;
    Sink sink;
    BodyReader reader(
        options(), origin, sink, [] { return false; }, [] { return true; });
    reader.consume("[{\"id\":1},{\"id\":2},{\"id\":3},");
    reader.end_of_data(false);
    CHECK(sink.events.size() == 3);
}
