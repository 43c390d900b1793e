// The state and the steps of DeliveryDispatcher (private to its .cpp files):
//   delivery_dispatcher.cpp         the public API, stop and /status
//   delivery_dispatcher_pump.cpp    polling the spool, leasing due batches and sending them
//   delivery_dispatcher_settle.cpp  an answer's core::SettleDecision carried out: the key's
//                                   state, the log, and the spool write that settles the batch
//
// Policy lives in the core: what an answer means for the batch (core::SettleDecision: retry,
// split, pause, dead letter, with delay and reason) and for its write key
// (core::WriteKeyQueue: in-flight cap, health, pause, what to lease next). Here are the
// timers, the spool calls and the Segment I/O that carry them out.
//
// Threading. Everything that decides runs on one strand (`strand`): the queues, the counters,
// the timers. Segment I/O runs on the connections' own strands and hands its answers back
// here. Spool calls run on the SpoolWorker's own thread, never on an io thread, and hand their
// results back here; a settle whose write failed is written again by the SettleRetrier.
//
// No exception leaves a handler: every strand entry point runs under guard(), spool calls
// under a try on the spool thread, and a batch whose request cannot be built or whose answer
// cannot be handled for a local reason is dead-lettered with that reason (see on_sent_guarded).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "core/clock.hpp"
#include "core/delivery/backoff_policy.hpp"
#include "core/delivery/settle_decision.hpp"
#include "core/delivery/write_key_queue.hpp"
#include "server/delivery/delivery_dispatcher.hpp"
#include "server/delivery/delivery_metrics.hpp"
#include "server/delivery/delivery_status.hpp"
#include "server/delivery/segment_client.hpp"
#include "server/delivery/settle_retrier.hpp"
#include "server/delivery/spool_worker.hpp"
#include "server/net/logger.hpp"
#include "server/storage/spool.hpp"
#include "server/storage/sync_store.hpp"

namespace lsr::server {

struct DeliveryDispatcher::Impl : std::enable_shared_from_this<DeliveryDispatcher::Impl> {
    using Strand = boost::asio::strand<boost::asio::io_context::executor_type>;

    // One write key: its delivery state (core::WriteKeyQueue) and the timer that wakes its pump.
    struct Queue {
        Queue(std::string key, const core::WriteKeyLimits& limits, const core::RetrySettings& retry,
              std::int64_t now_ms, Strand& strand)
            : state(std::move(key), limits, now_ms, retry), timer(strand) {}
        core::WriteKeyQueue state;
        boost::asio::steady_timer timer;
        std::int64_t wake_at = core::WriteKeyQueue::kNever;
    };

    struct PollResult {
        std::vector<std::pair<std::string, std::int64_t>> keys;
        std::optional<SpoolStats> stats;
        // With the stats: each write key's oldest batch (created_ms), for the lag metric;
        // nullopt also when the read failed (the series stay as they were).
        std::optional<std::vector<std::pair<std::string, std::int64_t>>> oldest_by_key;
        // With the stats: the size of cohort sync's baselines, for its gauges.
        std::optional<SyncTotals> sync;
    };

    // The spool write that settles a batch (on the spool thread), and what follows its
    // success (on the strand).
    using SettleWrite = std::function<SpoolError()>;  // the error carries SQLite's detail for the log
    using SettleDone = std::function<void(Queue&)>;
    using Decision = std::shared_ptr<const core::SettleDecision>;

    Impl(boost::asio::io_context& io_ctx, const config::SegmentConfig& segment_cfg,
         const config::SpoolConfig& spool_config, Spool& spool_ref, Logger& logger,
         prometheus::Registry& registry, const core::Clock& wall_clock);

    // -- strand entry points ------------------------------------------------------------
    // Runs `work()` on the spool thread, then `then(result)` here; then looks whether a stop
    // can complete.
    template <class Work, class Then>
    void on_spool(Work work, Then then) {
        worker.post(shared_from_this(), std::move(work),
                    [self = shared_from_this(), then = std::move(then)](auto result) mutable {
                        self->guard("spool answer", [&] { then(std::move(result)); });
                        self->guard("stop", [&] { self->check_stopped(); });
                    });
    }

    // Runs one strand handler; an exception is logged and goes no further.
    template <class F>
    void guard(const char* where, F&& f) noexcept {
        try {
            f();
        } catch (const std::exception& e) {
            log_exception(where, e.what());
        } catch (...) {
            log_exception(where, "unknown exception");
        }
    }

    void log_exception(const char* where, const char* what) noexcept;
    void close();  // any thread: the spool thread stops, the Segment client shuts down

    // -- polling (delivery_dispatcher_pump.cpp) -------------------------------------------
    void do_poll(bool with_stats);
    void on_poll(PollResult r);
    void arm_poll_timer();
    Queue& queue(const std::string& key);
    Queue* find(const std::string& key);
    // Wake the key's pump at `at_ms` (wall), unless an earlier wake-up is already set.
    void arm(Queue& q, std::int64_t at_ms);

    // -- leasing and sending (delivery_dispatcher_pump.cpp) -------------------------------
    void pump(const std::string& key);
    void on_leased(const std::string& key, std::size_t asked, std::vector<SpoolBatch> batches);
    void send(Queue& q, std::shared_ptr<SpoolBatch> batch);

    // -- answers and settling (delivery_dispatcher_settle.cpp) ----------------------------
    void on_sent_guarded(const std::shared_ptr<SpoolBatch>& b, std::uint64_t epoch,
                         SegmentResponse r) noexcept;
    void on_sent(const std::shared_ptr<SpoolBatch>& b, std::uint64_t epoch, SegmentResponse r);
    void log_decision(const SpoolBatch& b, const core::SettleDecision& d);
    // The spool write that carries out decision `d` on batch `b`.
    void carry_out(const std::shared_ptr<SpoolBatch>& b, Decision d);
    void settle(const std::shared_ptr<SpoolBatch>& b, const char* op, SettleWrite write, SettleDone done,
                std::uint32_t tries = 0);
    void settle_later(const std::shared_ptr<SpoolBatch>& b, const char* op, SettleWrite write,
                      SettleDone done, std::uint32_t tries, std::int64_t delay_ms);
    void settled(const std::shared_ptr<SpoolBatch>& b, const char* op, const SettleWrite& write,
                 const SettleDone& done, std::uint32_t tries, const SpoolError& ec);
    // Delivered batches settle in groups, one spool transaction per group.
    void settle_delivered(const std::shared_ptr<SpoolBatch>& b, SettleDone done);
    void write_delivered();
    void arm_delivered_write();
    void notify_settled(const SpoolBatch& b, BatchFate fate);
    void after_settle(Queue& q, std::int64_t batch_id);

    // -- stop and status (delivery_dispatcher.cpp) ----------------------------------------
    void begin_stop(std::function<void()> done);
    void check_stopped();
    void refresh_status();
    void read_status(StatusHandler done);

    boost::asio::io_context& io;
    config::SegmentConfig cfg;
    config::SpoolConfig spool_cfg;
    Spool& spool;
    Logger& log;
    DeliveryMetrics metrics;
    SegmentClient client;
    core::BackoffPolicy backoff;
    std::function<bool(std::string_view)> settle_fault;  // tests only
    std::set<std::int64_t> owned;                        // batches in flight or being settled by this process
    Strand strand;
    SpoolWorker worker;
    SettleRetrier settle_retrier;
    boost::asio::steady_timer poll_timer;
    bool poll_timer_armed = false;

    const core::Clock& clock;
    std::map<std::string, std::unique_ptr<Queue>> queues;
    bool stopping = false;
    bool polling = false;
    bool poll_again = false;
    std::uint32_t in_flight = 0;
    std::function<void()> stop_done;
    std::function<void(const BatchSettled&)> listener;
    SpoolStats last_stats;

    struct DeliveredSettle {
        std::shared_ptr<SpoolBatch> batch;
        SettleDone done;
    };
    static constexpr std::size_t kDeliveredGroupMax = 64;
    // How long delivered batches wait for others to share their transaction. Their slots are
    // given back at once (while at most kDeliveredGroupMax are unwritten), so the wait costs
    // no throughput; it only delays `ack: delivered` answers by as much.
    static constexpr std::int64_t kDeliveredGroupWaitMs = 50;
    std::vector<DeliveredSettle> delivered_waiting;  // delivered, not yet written
    bool delivered_writing = false;                  // a group's write is on the spool thread
    bool delivered_timer_armed = false;
    boost::asio::steady_timer delivered_timer;
    // Delivered batches whose slot was given back before their settle was written (the lease
    // and `owned` still keep them from being sent again); after_settle frees no slot for them.
    std::set<std::int64_t> released_early;

    DeliveryStatus status_doc;
};

}  // namespace lsr::server
