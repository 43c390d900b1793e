// Takes due batches from the Spool, one queue per write key with its own token bucket and
// in-flight cap, sends them with SegmentClient and settles each batch by its outcome:
// delivered, rescheduled (backoff or Retry-After for the whole key), split (400/413 on a
// batch of many) or dead-lettered (terminal status, single bad event, or give-up age).
#pragma once

#include <prometheus/registry.h>

#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "core/clock.hpp"

namespace lsr::server {

class Spool;
class Logger;
struct SpoolStats;

enum class BatchFate { delivered, dead_lettered };

struct BatchSettled {
    std::string request_id;
    std::int64_t batch_id = 0;
    std::uint32_t events = 0;
    BatchFate fate = BatchFate::delivered;
};

class DeliveryDispatcher {
  public:
    // The spool's figures and the delivery document of /status (see read_status).
    using StatusHandler = std::function<void(const SpoolStats& spool, const std::string& delivery_json)>;

    // `clock` (wall time: due times, pauses, ages, sentAt) must outlive the dispatcher.
    DeliveryDispatcher(boost::asio::io_context& io, const config::SegmentConfig& cfg,
                       const config::SpoolConfig& spool_cfg, Spool& spool, Logger& log,
                       prometheus::Registry& registry, const core::Clock& clock);
    ~DeliveryDispatcher();

    void start();                             // begins polling the spool (delivers what is there)
    void notify(std::string_view write_key);  // new batches were appended: look now
    // Stop taking new batches; requests in flight finish or time out; calls `done` then.
    void stop(std::function<void()> done);

    // Called (on an io thread) each time a batch with a non-empty request_id settles.
    // A batch split after a 400/413 never settles itself: its two halves (new batch ids,
    // same request_id) settle instead, so a request is complete when the events of its
    // settled batches add up to the events it spooled - count events, not batches.
    void set_settled_listener(std::function<void(const BatchSettled&)> listener);

    // {"stopping":false,"in_flight":N,"endpoint":"https://api.segment.io",
    //  "spool":{"batches":..,"events":..,"bytes":..,"dead_letters":..,"oldest_event_age_s":..},
    //  "write_keys":[{"key":"abcd…","due":true,"next_attempt_ms":..|null,"in_flight":..,"in_flight_limit":..,
    //    "paused_until_ms":..,"failing":false,"next_probe_ms":..(0 unless failing),
    //    "delivered_batches":..,"failed_attempts":..,
    //    "dead_lettered_batches":..,"last_error":".."}]}
    // Write keys are shown only by a 4-character prefix. Queue sizes are spool-wide (the
    // Spool API has no per-key count); the per-key counters are since start. Refreshed on
    // each poll and settle; cheap to call from any thread.
    std::string status_json();

    // Any thread, for /status: reads the spool's figures now, on the spool thread (never on
    // the caller's: an SQLite read may wait on a writer), then calls `done` with them and
    // status_json(), on the dispatcher's strand. When the spool cannot be read (the
    // dispatcher is closed, the read failed), the figures of the last poll stand in.
    void read_status(StatusHandler done);

    // Tests only, before start(): the uniform [0, 1) source of the backoff jitter.
    void set_jitter_for_testing(std::function<double()> uniform);
    // Tests only, before start(): while `fail(op)` returns true, the spool write that settles a
    // batch ("mark_delivered", "reschedule", "split", "dead_letter") fails as on a full disk,
    // without reaching the spool. Called on the spool thread.
    void set_settle_fault_for_testing(std::function<bool(std::string_view op)> fail);

  private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

}  // namespace lsr::server
