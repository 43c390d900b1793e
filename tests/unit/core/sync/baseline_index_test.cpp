#include "core/sync/baseline_index.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <vector>

#include "core/sync/hash64.hpp"

using lsr::core::BaselineIndex;
using lsr::core::Hash64;
using lsr::core::RowChange;

namespace {

std::uint64_t id(int i) {
    return Hash64::of("u:" + std::to_string(i));
}

}  // namespace

TEST_CASE("baseline index: added, changed, unchanged, duplicate and unseen", "[sync][baseline_index]") {
    BaselineIndex index;
    index.reserve(4);
    for (int i = 4; i >= 1; --i) index.add(id(i), 100 + i);  // any order
    index.seal();
    CHECK(index.size() == 4);
    CHECK(index.unseen() == 4);
    struct Case {
        int member;
        std::uint64_t content;
        RowChange expected;
    };
    const Case cases[] = {
        {1, 101, RowChange::unchanged}, {2, 999, RowChange::changed},   {5, 105, RowChange::added},
        {1, 101, RowChange::duplicate}, {2, 102, RowChange::duplicate}, {5, 105, RowChange::duplicate},
        {6, 0, RowChange::added},
    };
    for (const Case& c : cases) {
        INFO(c.member);
        CHECK(index.classify(id(c.member), c.content) == c.expected);
    }
    CHECK(index.unseen() == 2);
    CHECK(index.added() == 2);
    std::vector<std::uint64_t> left;
    index.for_each_unseen([&](std::uint64_t h) { left.push_back(h); });
    std::vector<std::uint64_t> expected{id(3), id(4)};
    std::sort(expected.begin(), expected.end());
    CHECK(left == expected);
    std::uint64_t content = 0;
    CHECK(index.find(id(2), content));
    CHECK(content == 102);
    CHECK_FALSE(index.find(id(5), content));
}

TEST_CASE("baseline index: empty, repeated ids, id 0 and a new run", "[sync][baseline_index]") {
    BaselineIndex empty;
    CHECK(empty.classify(7, 1) == RowChange::added);  // seals itself
    CHECK(empty.classify(7, 2) == RowChange::duplicate);
    CHECK(empty.classify(0, 2) == RowChange::added);
    CHECK(empty.classify(0, 2) == RowChange::duplicate);
    CHECK(empty.size() == 0);
    CHECK(empty.unseen() == 0);

    BaselineIndex index;
    index.add(9, 1);
    index.add(9, 2);  // the one added last wins
    index.add(0, 3);
    index.add(~0ull, 4);
    index.seal();
    CHECK(index.size() == 3);
    CHECK(index.classify(9, 2) == RowChange::unchanged);
    CHECK(index.classify(0, 3) == RowChange::unchanged);
    CHECK(index.classify(~0ull, 5) == RowChange::changed);
    CHECK(index.unseen() == 0);
    index.seal();  // a new run: nothing seen yet
    CHECK(index.unseen() == 3);
    CHECK(index.classify(9, 2) == RowChange::unchanged);
}

TEST_CASE("baseline index: 1,000,000 members and 1,000,000 new ids", "[sync][baseline_index]") {
    constexpr int kMembers = 1'000'000;
    BaselineIndex index;
    index.reserve(kMembers);
    for (int i = 0; i < kMembers; ++i)
        index.add(Hash64::of(std::string_view(reinterpret_cast<char*>(&i), 4)), i);
    index.seal();
    std::size_t unchanged = 0, changed = 0, added = 0, duplicates = 0;
    for (int i = 0; i < 2 * kMembers; i += 2) {  // every second member, then new ids
        const std::uint64_t h = Hash64::of(std::string_view(reinterpret_cast<char*>(&i), 4));
        switch (index.classify(h, i % 100 == 0 ? 1 : static_cast<std::uint64_t>(i))) {
            case RowChange::unchanged:
                ++unchanged;
                break;
            case RowChange::changed:
                ++changed;
                break;
            case RowChange::added:
                ++added;
                break;
            case RowChange::duplicate:
                ++duplicates;
                break;
        }
    }
    for (int i = kMembers; i < 2 * kMembers; i += 2) {  // the new ones again: duplicates
        const std::uint64_t h = Hash64::of(std::string_view(reinterpret_cast<char*>(&i), 4));
        if (index.classify(h, 0) == RowChange::duplicate) ++duplicates;
    }
    CHECK(changed == 10'000);  // the multiples of 100
    CHECK(unchanged == 490'000);
    CHECK(added == 500'000);
    CHECK(duplicates == 500'000);
    CHECK(index.unseen() == 500'000);
    std::size_t left = 0;
    index.for_each_unseen([&](std::uint64_t) { ++left; });
    CHECK(left == 500'000);
    // And with a million new ids on top of the members: well under 40 MB.
    for (int i = 2 * kMembers; i < 2 * kMembers + 500'000; ++i)
        index.classify(Hash64::of(std::string_view(reinterpret_cast<char*>(&i), 4)), 0);
    CHECK(index.added() == 1'000'000);
    INFO(index.memory_bytes());
    CHECK(index.memory_bytes() < 40u * 1024 * 1024);
}
