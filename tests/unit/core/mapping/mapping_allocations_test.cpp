// Heap allocations per mapped row, counted by a replacement of the global operator new in
// this test binary (counting only while a test switches it on, on its own thread). The
// mapping path reuses its buffers: a row costs no allocation in standard mode, with or
// without destinations, and a bounded few in hub mode.
#include <atomic>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <new>
#include <string>

#include "core/mapping/result_mapper.hpp"
#include "mapper_test_support.hpp"

// ThreadSanitizer's runtime defines the global operator new and delete itself (not weakly),
// so they cannot be replaced there: under TSan this file counts nothing and its tests are
// left out; the plain and the ASan+UBSan builds run them.
#if defined(__SANITIZE_THREAD__)
#define LSR_TSAN_BUILD 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define LSR_TSAN_BUILD 1
#endif
#endif

#if !defined(LSR_TSAN_BUILD)
// The replacements pair malloc with free themselves; GCC sees only the inlined halves.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace {

thread_local bool counting = false;
thread_local std::size_t allocations = 0;

}  // namespace

void* operator new(std::size_t n) {
    if (counting) ++allocations;
    if (void* p = std::malloc(n ? n : 1)) return p;
    throw std::bad_alloc();
}
void* operator new[](std::size_t n) {
    if (counting) ++allocations;
    if (void* p = std::malloc(n ? n : 1)) return p;
    throw std::bad_alloc();
}
// The nothrow forms too (std::stable_sort's temporary buffer uses them): every form that
// can reach the replaced deletes must come from the same malloc.
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
    if (counting) ++allocations;
    return std::malloc(n ? n : 1);
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
    if (counting) ++allocations;
    return std::malloc(n ? n : 1);
}
void operator delete(void* p, const std::nothrow_t&) noexcept {
    std::free(p);
}
void operator delete[](void* p, const std::nothrow_t&) noexcept {
    std::free(p);
}
void operator delete(void* p) noexcept {
    std::free(p);
}
void operator delete[](void* p) noexcept {
    std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
    std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
    std::free(p);
}

using namespace lsr;
using lsr::test::json_detail;

namespace {

// Counts events without keeping them.
struct CountSink final : core::EventSink {
    std::size_t events = 0;
    void on_event(const core::MappedEvent&) override { ++events; }
    void on_reject(const core::RowReject&) override {}
};

const std::string kFields = R"({"dimensions":[
  {"name":"users.id","label_short":"ID","tags":["user_id"]},
  {"name":"users.email","label_short":"Email","tags":["email"]},
  {"name":"users.name","label_short":"Name","tags":[]},
  {"name":"users.city_of_residence_long_name","label_short":"City Of Residence Long Name","tags":[]}],
  "measures":[{"name":"users.lifetime_value","label_short":"Lifetime Value","tags":[]}]})";

std::string rows(int n) {
    std::string out;
    for (int i = 0; i < n; ++i) {
        if (i) out += ',';
        out +=
            R"({"users.id":{"value":"u)" + std::to_string(100000 + i) + R"("},"users.email":{"value":"user)" +
            std::to_string(i) + R"(@example.com"},"users.name":{"value":"User Name )" + std::to_string(i) +
            R"("},"users.city_of_residence_long_name":{"value":"Berlin"},"users.lifetime_value":{"value":)" +
            std::to_string(i % 1000) + ".5}}";
    }
    return out;
}

// Rows whose measure is pivoted, with integer-like pivot keys, an array and a null.
const std::string kPivotFields = R"({"dimensions":[{"name":"users.id","tags":["user_id"]}],
  "measures":[{"name":"users.count","tags":[]},{"name":"users.list","tags":[]},{"name":"users.none","tags":[]}]})";

std::string pivot_rows(int n) {
    std::string out;
    for (int i = 0; i < n; ++i) {
        if (i) out += ',';
        out += R"({"users.id":{"value":)" + std::to_string(i + 1) + R"(},"users.count":{"b":{"value":)" +
               std::to_string(i) +
               R"(},"10":{"value":0.30000000000000004},"9":{"value":3}},"users.list":{"f":[{"value":1},)" +
               R"({"value":{"deep":[1,2]}}]},"users.none":{"value":null}})";
    }
    return out;
}

// Allocations while mapping `n` rows, fed in 64 KiB chunks.
std::size_t allocations_for(const core::MapperOptions& options, int n, bool pivots = false) {
    const std::string doc = pivots ? json_detail(kPivotFields, pivot_rows(n)) : json_detail(kFields, rows(n));
    CountSink sink;
    core::ResultMapper mapper(options, core::ResultFormat::json_detail, sink);
    allocations = 0;
    counting = true;
    for (std::size_t i = 0; i < doc.size(); i += 65536) mapper.feed(std::string_view(doc).substr(i, 65536));
    mapper.finish();
    counting = false;
    REQUIRE(sink.events == static_cast<std::size_t>(n));
    return allocations;
}

// Allocations per row: the difference between two sizes, so set-up costs cancel out.
double per_row(const core::MapperOptions& options, bool pivots = false) {
    const std::size_t small = allocations_for(options, 1000, pivots);
    const std::size_t large = allocations_for(options, 3000, pivots);
    return large > small ? static_cast<double>(large - small) / 2000.0 : 0.0;
}

}  // namespace

TEST_CASE("allocations: a standard row allocates nothing", "[allocations]") {
    const double n = per_row(lsr::test::standard_options());
    INFO("allocations per row: " << n);
    CHECK(n < 0.05);
}

TEST_CASE("allocations: a standard row checked against destinations allocates nothing", "[allocations]") {
    auto o = lsr::test::standard_options();
    o.mapping.destinations = {"amplitude", "zendesk", "hubspot"};
    const double n = per_row(o);
    INFO("allocations per row: " << n);
    CHECK(n < 0.05);
}

TEST_CASE("allocations: a hub row allocates nothing", "[allocations]") {
    auto o = lsr::test::hub_options();
    o.uuid_source = nullptr;  // the random ids the relay draws, not the tests' counter
    const double n = per_row(o);
    INFO("allocations per row: " << n);
    CHECK(n < 0.05);
}

TEST_CASE("allocations: a hub row with pivots, arrays and nulls allocates nothing", "[allocations]") {
    auto o = lsr::test::hub_options();
    o.uuid_source = nullptr;
    const double n = per_row(o, true);
    INFO("allocations per row: " << n);
    CHECK(n < 0.05);
}

#endif  // !LSR_TSAN_BUILD
