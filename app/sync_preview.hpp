// `preview` of a sync run (form params sync: changes | audience): the mapped events go through
// the same server::SyncRun an execute uses, in its dry-run form, against the schedule's
// baseline read from a spool file (--sync-state) or an empty one (a first run). It prints
// what the run would send (one event per line), and to stderr the counts, or the guard's
// refusal. Nothing is written to the spool.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "config/config.hpp"
#include "core/hub/execute_payload_scanner.hpp"
#include "core/mapping/event_sink.hpp"
#include "core/mapping/mapping_summary.hpp"
#include "server/ingest/sync_run.hpp"
#include "server/storage/spool.hpp"
#include "server/storage/sync_store.hpp"

namespace lsr::app {

class SyncPreview final : public core::EventSink {
  public:
    struct Input {
        const std::map<std::string, std::string>* params = nullptr;  // form params, or a route's keys
        std::string plan_id;
        std::string title;
        std::string action;  // the action's name, or "webhook:<route>"
        std::string write_key;
        std::string instance;    // --instance: X-Looker-Instance
        std::string sync_state;  // --sync-state: a spool file; empty: an empty baseline
        std::int64_t now_ms = 0;
    };

    // nullptr with `exit_code` 0: the run is a plain `all` run (no sync preview). nullptr with
    // a non-zero exit code: a refused setting or an unreadable state (printed).
    static std::unique_ptr<SyncPreview> open(const config::Config& cfg, const Input& in, int& exit_code);

    void on_event(const core::MappedEvent& event) override;
    void on_reject(const core::RowReject& reject) override;

    // Every row was read (`whole`: the result was complete). Prints the exits and the
    // counts; returns the exit code (1 when the guard would refuse the run).
    int finish(bool whole, const core::MappingSummary& summary);

    SyncPreview() = default;

  private:
    std::unique_ptr<server::Spool> spool_;
    std::unique_ptr<server::SyncStore> store_;
    std::unique_ptr<server::SyncRun> run_;
    int error_ = 0;
    std::uint64_t events_ = 0;  // printed
};

}  // namespace lsr::app
