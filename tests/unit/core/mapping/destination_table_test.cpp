#include "core/mapping/destination_table.hpp"

#include <catch2/catch.hpp>

using lsr::core::DestinationTable;
using lsr::core::EventFacts;

TEST_CASE("destination table: every row of the seed's table is embedded", "[destinations]") {
    const auto& table = DestinationTable::builtin();
    CHECK(table.all().size() == 77);
    CHECK(table.all().front().slug == "aboardly");
    CHECK(table.all().back().slug == "zendesk");
    for (const auto& d : table.all()) {
        INFO(d.slug);
        CHECK_FALSE(d.integration_name.empty());
        CHECK_FALSE(d.requirements.empty());
    }
}

TEST_CASE("destination table: requirements from the table and its notes", "[destinations]") {
    const auto& t = DestinationTable::builtin();
    EventFacts uid{true, false, false, false, nullptr};
    EventFacts mail{false, true, true, false, nullptr};
    REQUIRE(t.find("amplitude"));
    CHECK(t.find("Amplitude")->ready(uid));
    CHECK_FALSE(t.find("amplitude")->ready(mail));
    CHECK(t.find("hubspot")->ready(mail));
    CHECK_FALSE(t.find("HubSpot")->ready(uid));
    CHECK(t.find("intercom")->ready(uid));
    CHECK(t.find("intercom")->ready(mail));
    EventFacts anon{false, true, false, false, nullptr};
    CHECK(t.find("amazon-kinesis")->ready(anon));
    CHECK_FALSE(t.find("mixpanel")->ready(anon));
    CHECK_FALSE(t.find("totango")->ready(uid));
    EventFacts uid_group{true, false, false, true, nullptr};
    CHECK(t.find("totango")->ready(uid_group));
    std::vector<std::string_view> with_name{"email", "name"};
    std::vector<std::string_view> without_name{"email"};
    EventFacts zd{false, true, true, false, &with_name};
    CHECK(t.find("zendesk")->ready(zd));
    zd.trait_keys = &without_name;
    CHECK_FALSE(t.find("zendesk")->ready(zd));
    std::vector<std::string_view> account{"account_uid"};
    EventFacts sm{true, false, false, false, &account};
    CHECK(t.find("salesmachine")->ready(sm));
    CHECK_FALSE(t.find("salesmachine")->ready(uid));
    CHECK(t.find("blueshift")->requirement_text() == "email and userId");
    CHECK(t.find("zendesk")->requirement_text() == "email and a name trait");
    CHECK(t.find("braze") == t.find("appboy"));
    CHECK(t.find("braze")->integration_name == "Braze");
    CHECK_FALSE(t.find("nonexistent"));
}

TEST_CASE("destination table: a malformed table is refused with its line", "[destinations]") {
    std::string error;
    CHECK_FALSE(DestinationTable::parse("destination\ta\nx\ty\n", &error));
    CHECK(error.find("line 2") != std::string::npos);
    CHECK_FALSE(DestinationTable::parse("h\nx\t\tX\t\t\tX\tbogus\n", &error));
}
