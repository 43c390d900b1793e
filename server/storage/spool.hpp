// The durable spool: ready Segment batches on SQLite (WAL, synchronous commits), with the
// write key, attempts, next attempt time and last error of each, and a dead-letter table.
// A batch leaves `batches` only after a 2xx (mark_delivered) or into `dead_letters`.
// Thread-safe: every method may be called from any thread (one connection, one mutex).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "config/config.hpp"
#include "core/clock.hpp"
#include "server/storage/spool_error.hpp"

namespace lsr::server {

struct NewBatch {
    std::string write_key;
    std::string body;  // stored form (core::StoredBody): plain events joined by ",\n", or deflated
    std::uint32_t events = 0;
    std::string request_id;       // the execute that produced it; empty for replays
    std::int64_t created_ms = 0;  // wall clock, ms since epoch: age of its oldest event
    // A sync run's batch: never leased until SyncStore::commit_run releases it (deleted by
    // abort_run, or by the next exclusive open when the process ended before either).
    bool held = false;
};

struct SpoolBatch {
    std::int64_t id = 0;
    std::string write_key;
    std::string body;
    std::uint32_t events = 0;
    std::string request_id;
    std::int64_t created_ms = 0;
    std::uint32_t attempts = 0;
    std::int64_t next_attempt_ms = 0;
    std::string last_error;
};

struct DeadLetter {
    std::int64_t id = 0;
    std::string write_key;  // never printed in full by tools
    std::uint32_t events = 0;
    int status = 0;  // HTTP status of the last answer, 0 for network/give-up
    std::string reason;
    std::int64_t created_ms = 0;
    std::int64_t dead_ms = 0;
    std::uint32_t attempts = 0;
    // Filled only when asked (list_dead_letters(with_body)): the events, plain (inflated
    // when stored compressed); append_dead_letters stores it as given (plain or compressed).
    std::string body;
    std::string body_error;  // list_dead_letters(with_body): why the stored body cannot be read
};

// Batches, events and bytes count held batches too (a sync run's, until it commits or aborts):
// they take their room in the spool like any other.
struct SpoolStats {
    std::uint64_t batches = 0;
    std::uint64_t events = 0;
    std::uint64_t bytes = 0;  // sum of stored body sizes in batches (compressed when stored so)
    std::uint64_t dead_letters = 0;
    std::uint64_t dead_letter_events = 0;
    std::int64_t oldest_created_ms = 0;  // 0 when empty
    std::uint64_t file_bytes = 0;        // size of the database file(s) on disk
    // Bytes free for unprivileged users on the spool's filesystem (statvfs of its directory);
    // nullopt when it cannot be read.
    std::optional<std::uint64_t> filesystem_free_bytes;
};

struct SpoolOpenOptions {
    // false: a missing file is SpoolErrc::not_found instead of a new empty spool (the
    // operator tools, which must not create a spool by a typo in a path).
    bool create = true;
    // true (the default, what `serve` gets): two relays never serve the same spool. Open
    // takes an exclusive advisory lock (flock) on "<path>.lock" (created 0600, never
    // removed) before it touches the database, and holds it for the life of the Spool; the
    // kernel releases it when the process ends, SIGKILL included. When another process
    // holds it, open fails with SpoolErrc::locked and a message naming the path and the
    // holder's pid. The lock is per process: Spool objects of one process on the same path
    // share it (a second connection in the same process, as the unit tests use).
    // false: the operator tools (`spool stats|dead-letters|replay|purge|salvage`), which
    // must keep working while a relay runs; see "Operator tools while a relay runs" below.
    bool exclusive = true;
    // The spool's one source of time: due times of new and replayed batches, dead-letter
    // times, the hold of a batch whose settle failed, the aside name in a corrupt-file text.
    // Must outlive the Spool. nullptr: core::Clock::system().
    const core::Clock* clock = &core::Clock::system();
};

// Operator tools while a relay runs (SQLite serialises the writers; every tool action is one
// transaction, and a running relay's appends wait for it up to the busy timeout, 5 s):
// - stats, dead-letters: read-only snapshots; always safe.
// - replay: inserts new batches (new ids: ids are AUTOINCREMENT, never reused) due now; the
//   relay picks them up on its next poll. Dead letters are never leased, so nothing races.
// - purge --dead-letters: dead letters are never leased; safe.
// - purge --batches: deletes every batch, leased ones included. A batch the relay is sending
//   at that moment may still reach Segment; when its answer comes, the relay's settle call
//   (mark_delivered / reschedule / split / dead_letter) finds no row and returns
//   SpoolErrc::not_found without writing anything: a purged batch is never resurrected,
//   split or dead-lettered afterwards. The relay reloads its byte total from the database
//   when another connection has committed, so the space is usable at once.
// - salvage --to <the running relay's spool>: appends batches and dead letters through
//   this API; safe (the way out of a corrupt spool is: mv aside, start, salvage).

// Times are wall-clock milliseconds since the epoch everywhere (they outlive the process).
// Calls that write return a SpoolError: its code, and for a failure in SQLite the step that
// failed with SQLite's message, for the caller's log (the spool logs nothing itself).
class Spool {
  public:
    // The schema version kept in PRAGMA user_version. 2: bodies may be stored compressed
    // (core::StoredBody); a version-1 spool (plain bodies only, still valid) is raised to 2
    // when opened, and a relay that knows only version 1 refuses it from then on.
    // 3: cohort sync's baselines and staged rows, the run history, dead letters keep their
    // batch's request id (SyncStore). A version-1 or -2 spool is raised to 3 in place by any
    // open, exclusive or not (one transaction; the additions change nothing an older relay
    // still running on the file reads or writes), and an older relay refuses it from then on.
    static constexpr int kSchemaVersion = 3;

    // Opens or creates the spool at cfg.path (parent directories created, file mode 0600),
    // takes its lock unless options.exclusive is false (the two-argument form: exclusive),
    // checks its integrity (quick_check) and schema. On failure returns nullptr and sets ec
    // and `message` to a clear, operator-facing explanation including the way out.
    static std::unique_ptr<Spool> open(const config::SpoolConfig& cfg, std::error_code& ec,
                                       std::string& message);
    static std::unique_ptr<Spool> open(const config::SpoolConfig& cfg, const SpoolOpenOptions& options,
                                       std::error_code& ec, std::string& message);
    ~Spool();
    Spool(const Spool&) = delete;
    Spool& operator=(const Spool&) = delete;

    // All batches in one transaction, committed before return. `ids` receives their ids.
    // SpoolErrc::full when the spool's files on disk (main file with its free pages, and the
    // WAL, see SpoolSpace) would exceed max_bytes, or the batch bytes alone would;
    // SpoolErrc::low_space when the filesystem's free space would fall below min_free_bytes.
    // Nothing is written then.
    SpoolError append(const std::vector<NewBatch>& batches, std::vector<std::int64_t>* ids);

    // Batches of `write_key` whose next_attempt_ms <= now_ms and that are not leased nor held,
    // oldest first, at most `limit`; they become leased (in memory) until mark_delivered,
    // reschedule, split or dead_letter is called for them, or release_all_leases(). `now_ms`
    // is the caller's horizon (it may lease ahead); a batch whose settle failed to write is
    // held for 30 s of the spool's own clock whatever the horizon.
    std::vector<SpoolBatch> lease_due(std::string_view write_key, std::int64_t now_ms, std::size_t limit);
    // Write keys that have batches (leased or not), with the earliest next_attempt_ms of
    // their unleased batches (INT64_MAX when all are leased, or the rest are held: a held
    // batch's next_attempt_ms is kHeldUntilMs, "nothing due").
    std::vector<std::pair<std::string, std::int64_t>> write_keys();
    // Write keys that have batches (leased or not), with the created_ms of their oldest
    // batch: the age of the oldest event not yet delivered, per key. One pass over the
    // batches' small columns (as stats()), ordered by write key. nullopt when the read
    // failed (the caller keeps what it had: a failed read is not an empty spool).
    std::optional<std::vector<std::pair<std::string, std::int64_t>>> oldest_by_write_key();

    SpoolError mark_delivered(std::int64_t id);
    // Several batches delivered, in one transaction (one commit instead of one per batch:
    // the dispatcher settles the batches that came back while the previous write ran).
    // `found[i]` tells whether ids[i] was still in the spool (false: purged meanwhile). On
    // an error nothing is written and every id is held as a failed settle is.
    SpoolError mark_delivered(const std::vector<std::int64_t>& ids, std::vector<bool>* found);
    // attempts += 1, next_attempt_ms and last_error set, lease released.
    SpoolError reschedule(std::int64_t id, std::int64_t next_attempt_ms, std::string_view error);
    // Replaces batch `id` by two batches (same write key, request id, created_ms, attempts),
    // due now; returns their ids. Used to isolate bad events after a 400/413.
    SpoolError split(std::int64_t id, const std::string& first_body, std::uint32_t first_events,
                     const std::string& second_body, std::uint32_t second_events, std::int64_t* first_id,
                     std::int64_t* second_id);
    // Moves the batch (with its body) to the dead letters; their attempts count this last one.
    SpoolError dead_letter(std::int64_t id, int status, std::string_view reason);
    void release_all_leases();

    SpoolStats stats();
    std::vector<DeadLetter> list_dead_letters(std::size_t limit, bool with_body);
    // Moves dead letters back into batches, due now. Empty ids: all. Returns how many.
    SpoolError replay_dead_letters(const std::vector<std::int64_t>& ids, std::size_t* replayed);
    SpoolError purge_dead_letters(std::size_t* purged);
    SpoolError purge_batches(std::size_t* purged);  // operator tool only
    bool writable();  // for /readyz: a cheap check that the database accepts writes
    // Intake: SpoolErrc::full or low_space when new work must be refused right now (the
    // spool cannot take even one small batch, a page), {} otherwise.
    std::error_code room();

    // Added for metrics and tools.
    std::uint64_t bytes_used();       // stats().bytes, O(1) (running total)
    std::uint64_t max_bytes() const;  // cfg.max_bytes
    std::size_t leased_count();       // batches currently leased
    const std::string& path() const;
    // Stores dead letters as given (new ids; bodies required), in one transaction: for the
    // salvage tool, which copies them out of a damaged spool.
    SpoolError append_dead_letters(const std::vector<DeadLetter>& letters);

    struct Impl;  // opaque: defined in spool_impl.hpp
    // next_attempt_ms of a held batch.
    static constexpr std::int64_t kHeldUntilMs = INT64_MAX;

  private:
    friend class SyncStore;
    explicit Spool(std::unique_ptr<Impl>);
    std::unique_ptr<Impl> impl_;
};

}  // namespace lsr::server
