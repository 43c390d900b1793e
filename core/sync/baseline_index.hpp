// A schedule's baseline in memory as hashes only (16 bytes a member), and what the current
// run saw of it: each row is classified as added, changed, unchanged or a duplicate, and the
// members never seen are the ones that would leave. Pure: the store loads it and persists
// the run's outcome.
//
// Layout: a vector of {id_hash, content_hash} sorted by id, found through a table of bucket
// offsets on the ids' top bits (ids are uniform hashes); a bitmap of members seen; a flat
// open-addressing set of the ids this run added, to find their duplicates. For 1,000,000
// members and 1,000,000 new ids: about 16 MB + 0.5 MB + 16 MB.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

namespace lsr::core {

// duplicate: an identity already seen earlier in this run (the later row is left out).
enum class RowChange { added, changed, unchanged, duplicate };

class BaselineIndex {
  public:
    void reserve(std::size_t n);
    // Loading, any order. An id added twice keeps the content added last.
    void add(std::uint64_t id_hash, std::uint64_t content_hash);
    // After loading: sorts, removes repeated ids and builds the bucket table. classify()
    // seals an index that was not.
    void seal();
    // Marks the member seen; a new id is remembered, so a second row with it is a duplicate.
    RowChange classify(std::uint64_t id_hash, std::uint64_t content_hash);

    std::size_t size() const;    // baseline members
    std::size_t unseen() const;  // members not seen in this run (the ones that would leave)
    std::size_t added() const;   // distinct new ids seen in this run
    void for_each_unseen(const std::function<void(std::uint64_t id_hash)>& f) const;  // ascending id
    // The baseline content of a member, when it is one.
    bool find(std::uint64_t id_hash, std::uint64_t& content_hash) const;
    std::size_t memory_bytes() const;

  private:
    struct Entry {
        std::uint64_t id, content;
    };
    std::size_t locate(std::uint64_t id_hash) const;  // index in entries_, or entries_.size()
    bool insert_new(std::uint64_t id_hash);           // false when already there
    void grow_new();

    std::vector<Entry> entries_;
    std::vector<std::uint32_t> buckets_;  // entries_ index of each bucket's first member; one more at the end
    unsigned bucket_shift_ = 64;
    std::vector<std::uint64_t> seen_;  // one bit per entry
    std::size_t seen_count_ = 0;
    std::vector<std::uint64_t> new_ids_;  // open addressing, 0 = empty slot
    std::size_t new_count_ = 0;
    bool new_zero_ = false;  // the id 0, which cannot sit in the table
    bool sealed_ = false;
};

}  // namespace lsr::core
