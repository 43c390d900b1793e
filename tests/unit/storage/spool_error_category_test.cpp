// The spool's error codes (server/storage/spool_error_category.cpp).
#include "server/storage/spool_error_category.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>

#include "spool_test_support.hpp"

namespace fs = std::filesystem;
using lsr::server::DeadLetter;
using lsr::server::NewBatch;
using lsr::server::Spool;
using lsr::server::SpoolBatch;
using lsr::server::SpoolErrc;
using namespace lsr::server::spool_test;

TEST_CASE("spool error codes have readable messages", "[spool]") {
    CHECK(std::string(lsr::server::spool_category().name()) == "spool");
    CHECK(std::error_code(SpoolErrc::corrupt).message().find("not a valid") != std::string::npos);
    CHECK(std::error_code(SpoolErrc::not_found).message().find("no such") != std::string::npos);
    CHECK(std::error_code(SpoolErrc::io).message().find("error") != std::string::npos);
}
