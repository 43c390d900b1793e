#include "server/ingest/sync_run.hpp"

#include <mutex>
#include <set>
#include <utility>

#include "core/sync/sync_guard.hpp"

namespace lsr::server {

namespace {

constexpr std::string_view kLibraryContext =
    "{\"library\":{\"name\":\"looker-segment-relay\",\"version\":\"" LSR_VERSION "\"}}";

// The baselines with a run in progress in this process.
std::mutex& claims_mu() {
    static std::mutex mu;
    return mu;
}
std::set<std::string>& claims() {
    static std::set<std::string> s;
    return s;
}

}  // namespace

SyncRun::SyncRun(SyncStore* store, Setup setup) : store_(store), setup_(std::move(setup)) {}

SyncRun::~SyncRun() {
    if (claim_.empty()) return;
    std::lock_guard lock(claims_mu());
    claims().erase(claim_);
}

// The baseline's identity in messageIds: its key, so two schedules (or write keys) never
// share an id.
std::string SyncRun::key_text() const {
    const BaselineKey& k = setup_.key;
    std::string text;
    for (const std::string* part : {&k.instance, &k.plan_id, &k.action, &k.write_key}) {
        text += std::to_string(part->size());
        text += ':';
        text += *part;
    }
    return text;
}

SpoolError SyncRun::open(bool& busy) {
    const std::string key = key_text();
    busy = false;
    if (!setup_.dry_run) {
        std::lock_guard lock(claims_mu());
        busy = !claims().insert(key).second;
    }
    if (busy) return {};
    if (!setup_.dry_run) claim_ = key;
    key_ = key;
    if (store_ != nullptr) {
        if (auto ec = store_->find_baseline(setup_.key, &baseline_)) return ec;
    }
    if (baseline_) {
        index_.reserve(static_cast<std::size_t>(baseline_->members));
        if (auto ec = store_->load_members(
                baseline_->id, [this](std::uint64_t id, std::uint64_t content) { index_.add(id, content); }))
            return ec;
    }
    index_.seal();
    writer_.emplace(setup_.request, run_identity(), std::string(kLibraryContext), setup_.timestamp_json);
    return {};
}

core::SyncRunIdentity SyncRun::run_identity() const {
    core::SyncRunIdentity run;
    run.baseline_key = key_;
    run.generation = (baseline_ ? baseline_->generation : 0) + 1;
    return run;
}

SpoolError SyncRun::on_event(std::string_view json, const Emit& emit) {
    if (!reader_.read(json, view_, read_error_)) {
        // The mappers always write an identity; an event without one is sent as it is.
        ++counts_.added;
        emit(json);
        return {};
    }
    if (row_timestamp_.empty() && view_.timestamp_begin != std::string_view::npos)
        row_timestamp_.assign(
            json.substr(view_.timestamp_begin, view_.timestamp_end - view_.timestamp_begin));
    const core::RowChange change = index_.classify(view_.id_hash, view_.content_hash);
    if (change == core::RowChange::duplicate) {
        ++counts_.duplicates;
        return {};
    }
    if (change == core::RowChange::added && ++new_members_ + index_.size() > setup_.max_members &&
        setup_.max_members != 0) {
        over_limit_ = true;
        return {};
    }
    const StagedChange staged =
        change == core::RowChange::added ? StagedChange::added : StagedChange::changed;
    // A resync sends every row as a first run would (entered, in audience mode).
    if (setup_.request.resync) {
        ++counts_.added;
        writer_->row(json, view_, core::SyncEventKind::entered, emit);
        return stage({view_.id_hash, view_.content_hash, view_.identity_json, staged});
    }
    switch (change) {
        case core::RowChange::unchanged:
            ++counts_.unchanged;
            return {};
        case core::RowChange::changed:
            ++counts_.changed;
            writer_->row(json, view_, core::SyncEventKind::changed, emit);
            break;
        default:
            ++counts_.added;
            writer_->row(json, view_, core::SyncEventKind::entered, emit);
    }
    return stage({view_.id_hash, view_.content_hash, view_.identity_json, staged});
}

std::string SyncRun::limit_message() const {
    return "The cohort has more than " + core::SyncSummary::group_thousands(setup_.max_members) +
           " members (sync.max_members): use sync \"all\" for this schedule, or raise sync.max_members.";
}

std::optional<std::string> SyncRun::guard() const {
    core::SyncGuardInput in;
    in.baseline_members = index_.size();
    in.would_leave = index_.unseen();
    in.accepted_rows = counts_.added + counts_.changed + counts_.unchanged + counts_.duplicates;
    in.max_exit_fraction = setup_.max_exit_fraction;
    in.allow_mass_exit = setup_.request.allow_mass_exit;
    in.resync = setup_.request.resync;
    return core::SyncGuard::refuse(in);
}

SpoolError SyncRun::finish_rows(const Emit& emit) {
    // Members not seen leave: in audience mode they get exit events (not after a resync,
    // which is a first run); in changes mode they only leave the baseline.
    std::vector<std::uint64_t> leaving;
    leaving.reserve(index_.unseen());
    index_.for_each_unseen([&](std::uint64_t id) { leaving.push_back(id); });
    counts_.removed = leaving.size();
    const bool exits = setup_.request.mode == core::SyncMode::audience && !setup_.request.resync;
    // Exits carry the rows' own timestamp (the result's ran_at), so a re-sent execute writes
    // them exactly as the first attempt did; the receive time only when no row had one.
    std::optional<core::SyncEventWriter> exit_writer;
    if (exits && !leaving.empty())
        exit_writer.emplace(setup_.request, run_identity(), std::string(kLibraryContext),
                            row_timestamp_.empty() ? setup_.timestamp_json : row_timestamp_);
    std::vector<std::uint64_t> part;
    std::vector<std::string> identities;
    for (std::size_t at = 0; at < leaving.size(); at += kExitLookups) {
        part.assign(
            leaving.begin() + static_cast<std::ptrdiff_t>(at),
            leaving.begin() + static_cast<std::ptrdiff_t>(std::min(leaving.size(), at + kExitLookups)));
        if (exits) {
            if (baseline_) {
                if (auto ec = store_->identities(baseline_->id, part, &identities)) return ec;
            }
            for (std::size_t i = 0; i < part.size() && i < identities.size(); ++i) {
                if (!identities[i].empty()) exit_writer->exit(identities[i], part[i], emit);
            }
        }
        for (std::uint64_t id : part) {
            if (auto ec = stage({id, 0, {}, StagedChange::removed})) return ec;
        }
    }
    return flush_stage();
}

SpoolError SyncRun::stage(StagedRow row) {
    if (setup_.dry_run) return {};
    staged_.push_back(std::move(row));
    if (staged_.size() >= kStageRows) return flush_stage();
    return {};
}

SpoolError SyncRun::flush_stage() {
    if (staged_.empty()) return {};
    SpoolError ec = store_->stage(setup_.run_id, staged_);
    staged_.clear();
    return ec;
}

SpoolError SyncRun::commit(const std::vector<std::int64_t>& held, std::int64_t now_ms) {
    RunCommit c;
    c.run_id = setup_.run_id;
    c.baseline_id = baseline_ ? baseline_->id : 0;
    c.key = setup_.key;
    c.title = setup_.title;
    c.mode = std::string(mode_name());
    // A run that changes nothing keeps the generation (it is only seen: last_run_ms), so a
    // re-sent execute whose first attempt committed cannot shift the messageIds of the runs
    // after it.
    const bool changes = counts_.added + counts_.changed + counts_.removed > 0 || setup_.request.resync;
    c.base_generation = baseline_ ? baseline_->generation : 0;
    c.generation = c.base_generation + (changes ? 1 : 0);
    c.members = index_.size() - counts_.removed + new_members_;
    c.release = held;
    c.now_ms = now_ms;
    std::int64_t id = 0;
    return store_->commit_run(c, &id);
}

SpoolError SyncRun::abort(const std::vector<std::int64_t>& held) {
    staged_.clear();
    return store_->abort_run(setup_.run_id, held);
}

}  // namespace lsr::server
