// Shared helpers of the mapper tests: a sink that keeps everything, and runs of a
// ResultMapper over a text fed in chunks of a given size.
#pragma once

#include <string>
#include <vector>

#include "core/mapping/result_mapper.hpp"

namespace lsr::test {

struct CollectSink final : core::EventSink {
    std::vector<std::string> events;
    std::vector<std::string> message_ids;
    std::vector<core::RowReject> rejects;
    void on_event(const core::MappedEvent& e) override {
        events.emplace_back(e.json);
        message_ids.emplace_back(e.message_id);
    }
    void on_reject(const core::RowReject& r) override { rejects.push_back(r); }
};

struct Run {
    CollectSink sink;
    core::MappingSummary summary;
    std::string error;
    std::error_code ec;
};

inline Run run_mapper(core::MapperOptions options, core::ResultFormat format, const std::string& text,
                      std::size_t chunk = 0) {
    Run run;
    core::ResultMapper mapper(std::move(options), format, run.sink);
    if (chunk == 0) chunk = text.size() ? text.size() : 1;
    for (std::size_t i = 0; i < text.size() && !run.ec; i += chunk)
        run.ec = mapper.feed(std::string_view(text).substr(i, chunk));
    if (!run.ec) run.ec = mapper.finish();
    run.summary = mapper.summary();
    run.error = mapper.error_message();
    return run;
}

// A counter instead of randomness: "uuid-1", "uuid-2", ...
inline std::function<std::string()> counting_uuids() {
    auto n = std::make_shared<int>(0);
    return [n] { return "uuid-" + std::to_string(++*n); };
}

inline core::MapperOptions hub_options(core::CallType call = core::CallType::identify) {
    core::MapperOptions o;
    o.mapping.mode = core::MappingMode::hub;
    o.call = call;
    o.received_at_ms = 1796108122123;  // 2026-12-01T06:55:22.123Z
    o.uuid_source = counting_uuids();
    return o;
}

inline core::MapperOptions standard_options(core::CallType call = core::CallType::identify) {
    core::MapperOptions o;
    o.call = call;
    o.received_at_ms = 1796108122123;
    o.plan_id = "42";
    o.run_id = "webhook-1";
    return o;
}

// A json_detail document with the given fields (JSON text of the `fields` object) and rows.
inline std::string json_detail(const std::string& fields, const std::string& rows,
                               const std::string& ran_at = "2017-07-28T02:25:19+00:00") {
    std::string doc = "{\"id\":\"r1\",";
    if (!ran_at.empty()) doc += "\"ran_at\":\"" + ran_at + "\",";
    return doc + "\"fields\":" + fields + ",\"data\":[" + rows + "]}";
}

}  // namespace lsr::test
