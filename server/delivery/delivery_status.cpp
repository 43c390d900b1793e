#include "server/delivery/delivery_status.hpp"

#include <algorithm>
#include <utility>

#include "core/delivery/write_key_queue.hpp"
#include "core/json_out.hpp"
#include "core/text.hpp"
#include "server/storage/spool.hpp"

namespace lsr::server {

namespace {

void field(core::JsonOut& out, std::string_view key, bool value) {
    out.raw(',');
    out.key(key);
    out.raw(value ? "true" : "false");
}

template <class Integer>
void field(core::JsonOut& out, std::string_view key, Integer value) {
    out.raw(',');
    out.key(key);
    out.raw(std::to_string(value));
}

// Texts that may hold any bytes (a cut write key, an error): valid UTF-8 in the document.
void text_field(core::JsonOut& out, std::string_view key, std::string_view value) {
    out.raw(',');
    out.key(key);
    out.string(core::valid_utf8_text(value));
}

}  // namespace

void DeliveryStatus::publish(const Overview& o, const std::vector<const core::WriteKeyQueue*>& keys) {
    const std::int64_t t = o.now_ms;
    const SpoolStats empty;
    const SpoolStats& st = o.spool != nullptr ? *o.spool : empty;
    std::string doc;
    core::JsonOut out(doc);
    out.raw('{');
    out.key("stopping");
    out.raw(o.stopping ? "true" : "false");
    field(out, "in_flight", o.in_flight);
    text_field(out, "endpoint", o.endpoint);
    out.raw(',');
    out.key("spool");
    out.raw('{');
    out.key("batches");
    out.raw(std::to_string(st.batches));
    field(out, "events", st.events);
    field(out, "bytes", st.bytes);
    field(out, "dead_letters", st.dead_letters);
    field(out, "oldest_event_age_s",
          st.oldest_created_ms > 0 ? std::max<std::int64_t>(0, t - st.oldest_created_ms) / 1000 : 0);
    out.raw("},");
    out.key("write_keys");
    out.raw('[');
    bool first = true;
    for (const core::WriteKeyQueue* q : keys) {
        const core::WriteKeyQueue& s = *q;
        out.raw(first ? "{" : ",{");
        first = false;
        out.key("key");
        out.string(core::valid_utf8_text(core::WriteKeyQueue::short_key(s.write_key())));
        field(out, "due", s.next_due_ms() <= t);
        out.raw(',');
        out.key("next_attempt_ms");
        out.raw(s.next_due_ms() == core::WriteKeyQueue::kNever ? std::string("null")
                                                               : std::to_string(s.next_due_ms()));
        field(out, "in_flight", s.in_flight());
        field(out, "in_flight_limit", s.in_flight_limit());
        field(out, "paused_until_ms", s.paused(t) ? s.paused_until_ms() : 0);
        field(out, "failing", s.health().failing());
        field(out, "next_probe_ms", s.health().next_probe_ms());
        field(out, "delivered_batches", s.delivered_batches());
        field(out, "failed_attempts", s.failed_attempts());
        field(out, "dead_lettered_batches", s.dead_lettered_batches());
        text_field(out, "last_error", s.last_error());
        out.raw('}');
    }
    out.raw("]}");
    std::lock_guard lock(mu_);
    cache_ = std::move(doc);
}

std::string DeliveryStatus::json() {
    std::lock_guard lock(mu_);
    return cache_;
}

}  // namespace lsr::server
