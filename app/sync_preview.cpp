#include "app/sync_preview.hpp"

#include <cstdio>
#include <iostream>

#include "core/iso_time.hpp"
#include "core/sync/sync_request.hpp"
#include "core/sync/sync_summary.hpp"

namespace lsr::app {

namespace {

void print(std::string_view json) {
    std::fwrite(json.data(), 1, json.size(), stdout);
    std::fputc('\n', stdout);
}

}  // namespace

std::unique_ptr<SyncPreview> SyncPreview::open(const config::Config& cfg, const Input& in, int& exit_code) {
    exit_code = 0;
    core::SyncDefaults defaults;
    defaults.mode = cfg.sync.mode;
    defaults.audience_events = cfg.sync.audience_events;
    static const std::map<std::string, std::string> kNone;
    std::string error;
    std::string param;
    auto request =
        core::SyncRequestParser::parse(in.params ? *in.params : kNone, defaults, in.title, error, param);
    if (!request) {
        std::cerr << "error: " << error << "\n";
        exit_code = 1;
        return nullptr;
    }
    if (request->mode == core::SyncMode::all) return nullptr;
    auto p = std::make_unique<SyncPreview>();
    if (!in.sync_state.empty()) {
        config::SpoolConfig spool_cfg = cfg.spool;
        spool_cfg.path = in.sync_state;
        server::SpoolOpenOptions options;
        options.create = false;
        options.exclusive = false;
        std::error_code ec;
        std::string message;
        p->spool_ = server::Spool::open(spool_cfg, options, ec, message);
        if (!p->spool_) {
            std::cerr << "preview: " << message << "\n";
            exit_code = 1;
            return nullptr;
        }
        p->store_ = std::make_unique<server::SyncStore>(*p->spool_);
    }
    server::SyncRun::Setup setup;
    setup.request = std::move(*request);
    setup.key = {in.instance, in.plan_id, in.action, in.write_key};
    setup.title = in.title;
    setup.max_exit_fraction = cfg.sync.max_exit_fraction;
    setup.max_members = cfg.sync.max_members;
    setup.timestamp_json = "\"" + core::format_iso8601_ms(in.now_ms) + "\"";
    setup.dry_run = true;
    p->run_ = std::make_unique<server::SyncRun>(p->store_.get(), std::move(setup));
    bool busy = false;
    if (auto ec = p->run_->open(busy)) {
        std::cerr << "preview: cannot read the baseline in " << in.sync_state << ": " << ec.message() << " "
                  << ec.detail() << "\n";
        exit_code = 1;
        return nullptr;
    }
    return p;
}

void SyncPreview::on_event(const core::MappedEvent& event) {
    if (error_) return;
    if (auto ec = run_->on_event(event.json, [this](std::string_view json) {
            print(json);
            ++events_;
        })) {
        std::cerr << "preview: " << ec.message() << "\n";
        error_ = 1;
    }
}

void SyncPreview::on_reject(const core::RowReject& r) {
    std::cerr << "row " << r.row_index + 1 << " rejected: " << r.reason << "\n";
}

int SyncPreview::finish(bool whole, const core::MappingSummary& summary) {
    std::fflush(stdout);
    if (error_) return error_;
    if (!whole) {
        std::cerr << "sync: the result is incomplete, so this run would send nothing and leave the baseline "
                     "unchanged\n";
        return 1;
    }
    if (auto refusal = run_->guard()) {
        std::cerr << "error: " << *refusal << "\n";
        return 1;
    }
    if (auto ec = run_->finish_rows([this](std::string_view json) {
            print(json);
            ++events_;
        })) {
        std::cerr << "preview: " << ec.message() << " " << ec.detail() << "\n";
        return 1;
    }
    std::fflush(stdout);
    auto& c = run_->counts();
    c.rows = summary.rows;
    c.events = events_;
    std::cerr << "sync (" << run_->mode_name() << ", baseline of " << run_->baseline_members()
              << " members): " << core::SyncSummary::text(run_->request().mode, c, run_->request().resync)
              << "\n";
    return 0;
}

}  // namespace lsr::app
