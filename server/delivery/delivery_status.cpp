#include "server/delivery/delivery_status.hpp"

#include <algorithm>
#include <utility>

#include "core/text.hpp"
#include "server/delivery/write_key_queue.hpp"
#include "server/storage/spool.hpp"

namespace lsr::server {

namespace {

const char* boolean(bool b) {
    return b ? "true" : "false";
}

}  // namespace

void DeliveryStatus::publish(const Overview& o, const std::vector<const WriteKeyQueue*>& keys) {
    const std::int64_t t = o.now_ms;
    const SpoolStats empty;
    const SpoolStats& st = o.spool != nullptr ? *o.spool : empty;
    std::string out = "{\"stopping\":";
    out += boolean(o.stopping);
    out += ",\"in_flight\":" + std::to_string(o.in_flight);
    out += ",\"endpoint\":";
    core::append_json_string(out, o.endpoint);
    out += ",\"spool\":{\"batches\":" + std::to_string(st.batches) +
           ",\"events\":" + std::to_string(st.events) + ",\"bytes\":" + std::to_string(st.bytes) +
           ",\"dead_letters\":" + std::to_string(st.dead_letters) + ",\"oldest_event_age_s\":" +
           std::to_string(
               st.oldest_created_ms > 0 ? std::max<std::int64_t>(0, t - st.oldest_created_ms) / 1000 : 0) +
           "}";
    out += ",\"write_keys\":[";
    bool first = true;
    for (const WriteKeyQueue* q : keys) {
        const WriteKeyQueue& s = *q;
        if (!first) {
            out += ',';
        }
        first = false;
        out += "{\"key\":";
        core::append_json_string(out, WriteKeyQueue::short_key(s.write_key()));
        out += ",\"due\":";
        out += boolean(s.next_due_ms() <= t);
        out += ",\"next_attempt_ms\":" + (s.next_due_ms() == WriteKeyQueue::kNever
                                              ? std::string("null")
                                              : std::to_string(s.next_due_ms()));
        out += ",\"in_flight\":" + std::to_string(s.in_flight());
        out += ",\"in_flight_limit\":" + std::to_string(s.in_flight_limit());
        out += ",\"paused_until_ms\":" + std::to_string(s.paused(t) ? s.paused_until_ms() : 0);
        out += ",\"failing\":";
        out += boolean(s.health().failing());
        out += ",\"next_probe_ms\":" + std::to_string(s.health().next_probe_ms());
        out += ",\"delivered_batches\":" + std::to_string(s.delivered_batches);
        out += ",\"failed_attempts\":" + std::to_string(s.failed_attempts);
        out += ",\"dead_lettered_batches\":" + std::to_string(s.dead_lettered_batches);
        out += ",\"last_error\":";
        core::append_json_string(out, s.last_error);
        out += '}';
    }
    out += "]}";
    std::lock_guard lock(mu_);
    cache_ = std::move(out);
}

std::string DeliveryStatus::json() {
    std::lock_guard lock(mu_);
    return cache_;
}

}  // namespace lsr::server
