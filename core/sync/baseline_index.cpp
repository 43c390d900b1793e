#include "core/sync/baseline_index.hpp"

#include <algorithm>
#include <bit>

namespace lsr::core {
namespace {

constexpr std::size_t kMembersPerBucket = 8;
constexpr std::size_t kFirstNewCapacity = 1024;

inline std::size_t slot_of(std::uint64_t id, std::size_t mask) {
    return static_cast<std::size_t>((id * 0x9e3779b97f4a7c15ull) >> 20) & mask;
}

}  // namespace

void BaselineIndex::reserve(std::size_t n) {
    entries_.reserve(n);
}

void BaselineIndex::add(std::uint64_t id_hash, std::uint64_t content_hash) {
    entries_.push_back({id_hash, content_hash});
    sealed_ = false;
}

void BaselineIndex::seal() {
    std::stable_sort(entries_.begin(), entries_.end(),
                     [](const Entry& a, const Entry& b) { return a.id < b.id; });
    std::size_t kept = 0;
    for (std::size_t i = 0; i < entries_.size(); ++i) {
        if (kept > 0 && entries_[kept - 1].id == entries_[i].id) {
            entries_[kept - 1] = entries_[i];  // the one added last wins
        } else {
            entries_[kept++] = entries_[i];
        }
    }
    entries_.resize(kept);

    // Buckets on the top bits: at least 2, about kMembersPerBucket members each.
    unsigned bits = 1;
    while ((std::size_t{1} << bits) * kMembersPerBucket < entries_.size() && bits < 32) ++bits;
    bucket_shift_ = 64 - bits;
    const std::size_t count = std::size_t{1} << bits;
    buckets_.assign(count + 1, 0);
    std::size_t e = 0;
    for (std::size_t b = 0; b < count; ++b) {
        buckets_[b] = static_cast<std::uint32_t>(e);
        while (e < entries_.size() && (entries_[e].id >> bucket_shift_) == b) ++e;
    }
    buckets_[count] = static_cast<std::uint32_t>(entries_.size());

    seen_.assign((entries_.size() + 63) / 64, 0);
    seen_count_ = 0;
    new_ids_.clear();
    new_count_ = 0;
    new_zero_ = false;
    sealed_ = true;
}

std::size_t BaselineIndex::locate(std::uint64_t id_hash) const {
    if (entries_.empty()) return 0;
    const std::size_t b = static_cast<std::size_t>(id_hash >> bucket_shift_);
    const auto first = entries_.begin() + buckets_[b], last = entries_.begin() + buckets_[b + 1];
    const auto it =
        std::lower_bound(first, last, id_hash, [](const Entry& e, std::uint64_t id) { return e.id < id; });
    return it != last && it->id == id_hash ? static_cast<std::size_t>(it - entries_.begin())
                                           : entries_.size();
}

void BaselineIndex::grow_new() {
    std::vector<std::uint64_t> old;
    old.swap(new_ids_);
    new_ids_.assign(old.empty() ? kFirstNewCapacity : old.size() * 2, 0);
    const std::size_t mask = new_ids_.size() - 1;
    for (std::uint64_t id : old) {
        if (id == 0) continue;
        std::size_t s = slot_of(id, mask);
        while (new_ids_[s] != 0) s = (s + 1) & mask;
        new_ids_[s] = id;
    }
}

bool BaselineIndex::insert_new(std::uint64_t id_hash) {
    if (id_hash == 0) {
        if (new_zero_) return false;
        new_zero_ = true;
        return true;
    }
    if ((new_count_ + 1) * 4 > new_ids_.size() * 3) grow_new();  // load at most 3/4
    const std::size_t mask = new_ids_.size() - 1;
    for (std::size_t s = slot_of(id_hash, mask);; s = (s + 1) & mask) {
        if (new_ids_[s] == id_hash) return false;
        if (new_ids_[s] == 0) {
            new_ids_[s] = id_hash;
            ++new_count_;
            return true;
        }
    }
}

RowChange BaselineIndex::classify(std::uint64_t id_hash, std::uint64_t content_hash) {
    if (!sealed_) seal();
    const std::size_t i = locate(id_hash);
    if (i == entries_.size()) return insert_new(id_hash) ? RowChange::added : RowChange::duplicate;
    std::uint64_t& word = seen_[i / 64];
    const std::uint64_t bit = std::uint64_t{1} << (i % 64);
    if (word & bit) return RowChange::duplicate;
    word |= bit;
    ++seen_count_;
    return entries_[i].content == content_hash ? RowChange::unchanged : RowChange::changed;
}

bool BaselineIndex::find(std::uint64_t id_hash, std::uint64_t& content_hash) const {
    if (!sealed_) return false;
    const std::size_t i = locate(id_hash);
    if (i == entries_.size()) return false;
    content_hash = entries_[i].content;
    return true;
}

std::size_t BaselineIndex::size() const {
    return entries_.size();
}

std::size_t BaselineIndex::unseen() const {
    return entries_.size() - seen_count_;
}

std::size_t BaselineIndex::added() const {
    return new_count_ + (new_zero_ ? 1 : 0);
}

void BaselineIndex::for_each_unseen(const std::function<void(std::uint64_t id_hash)>& f) const {
    for (std::size_t w = 0; w < seen_.size(); ++w) {
        std::uint64_t missing = ~seen_[w];
        while (missing != 0) {
            const std::size_t i = w * 64 + static_cast<std::size_t>(std::countr_zero(missing));
            if (i >= entries_.size()) return;
            f(entries_[i].id);
            missing &= missing - 1;
        }
    }
}

std::size_t BaselineIndex::memory_bytes() const {
    return sizeof(*this) + entries_.capacity() * sizeof(Entry) + buckets_.capacity() * sizeof(std::uint32_t) +
           seen_.capacity() * sizeof(std::uint64_t) + new_ids_.capacity() * sizeof(std::uint64_t);
}

}  // namespace lsr::core
