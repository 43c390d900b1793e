#include "server/ingest/settled_ledger.hpp"

#include <catch2/catch.hpp>

using lsr::server::SettledLedger;

TEST_CASE("SettledLedger counts settled events per open request and tells its watcher", "[settled_ledger]") {
    SettledLedger ledger;
    ledger.record("a", 5, true);  // not open: ignored
    CHECK(ledger.count("a").delivered == 0);
    ledger.open("a");
    int changes = 0;
    ledger.watch("a", [&] { ++changes; });
    ledger.record("a", 5, true);
    ledger.record("a", 2, false);
    ledger.record("b", 9, true);
    CHECK(ledger.count("a").delivered == 5);
    CHECK(ledger.count("a").dead == 2);
    CHECK(changes == 2);
    ledger.close("a");
    ledger.record("a", 1, true);
    CHECK(ledger.count("a").delivered == 0);
    CHECK(changes == 2);
}

TEST_CASE("SettledLedger lets a watcher close its own entry", "[settled_ledger]") {
    SettledLedger ledger;
    ledger.open("a");
    ledger.watch("a", [&] { ledger.close("a"); });  // as the job does when it answers
    ledger.record("a", 1, true);
    CHECK(ledger.count("a").delivered == 0);
}
