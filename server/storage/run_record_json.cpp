#include "server/storage/run_record_json.hpp"

#include <string_view>

#include "core/iso_time.hpp"
#include "core/json_out.hpp"
#include "core/text.hpp"

namespace lsr::server {

namespace {

class Members {
  public:
    explicit Members(core::JsonOut& w) : w_(w) {}

    void key(std::string_view k) {
        if (!first_) w_.raw(',');
        first_ = false;
        w_.key(k);
    }
    void text(std::string_view k, std::string_view v) {
        key(k);
        w_.string(core::valid_utf8_text(v));
    }
    template <class Integer>
    void number(std::string_view k, Integer v) {
        key(k);
        w_.raw(std::to_string(v));
    }
    void boolean(std::string_view k, bool v) {
        key(k);
        w_.boolean(v);
    }
    // "<name>": ISO-8601 and "<name>_ms", both null when ms is 0 (not yet).
    void time(std::string_view name, std::int64_t ms) {
        key(name);
        if (ms > 0) {
            w_.string(core::format_iso8601_ms(ms));
        } else {
            w_.null();
        }
        key(std::string(name) + "_ms");
        if (ms > 0) {
            w_.raw(std::to_string(ms));
        } else {
            w_.null();
        }
    }

  private:
    core::JsonOut& w_;
    bool first_ = true;
};

}  // namespace

void RunRecordJson::append(std::string& out, const RunRecord& r) {
    core::JsonOut w(out);
    w.raw('{');
    Members m(w);
    m.number("id", r.id);
    m.text("request_id", r.request_id);
    m.time("received", r.received_ms);
    m.time("finished", r.finished_ms);
    m.text("instance", r.instance);
    m.text("plan_id", r.plan_id);
    m.text("title", r.title);
    m.text("action", r.action);
    m.text("webhook_id", r.webhook_id);
    m.text("sync_mode", r.sync_mode);
    m.text("outcome", r.outcome);
    m.number("rows", r.rows);
    m.number("accepted", r.accepted);
    m.number("rejected", r.rejected);
    m.key("rejected_by_reason");
    w.raw('{');
    Members reasons(w);
    for (const auto& [reason, count] : r.rejected_by_reason)
        reasons.number(core::valid_utf8_text(reason), count);
    w.raw('}');
    m.number("added", r.added);
    m.number("changed", r.changed);
    m.number("unchanged", r.unchanged);
    m.number("removed", r.removed);
    m.number("events", r.events);
    m.boolean("success", r.success);
    m.text("answer", r.answer);
    m.number("queued", r.queued);
    m.number("dead_lettered", r.dead_lettered);
    m.number("delivered", r.delivered);
    w.raw('}');
}

std::string RunRecordJson::object(const RunRecord& r) {
    std::string out;
    append(out, r);
    return out;
}

std::string RunRecordJson::page(const std::vector<RunRecord>& runs, std::int64_t next_before_id) {
    std::string out;
    core::JsonOut w(out);
    w.raw("{\"runs\":[");
    bool first = true;
    for (const auto& r : runs) {
        if (!first) w.raw(',');
        first = false;
        append(out, r);
    }
    w.raw("],\"next\":");
    if (next_before_id > 0) {
        w.string("/runs?before=" + std::to_string(next_before_id));
    } else {
        w.null();
    }
    w.raw('}');
    return out;
}

}  // namespace lsr::server
