// What one mapping run needs to know: the mapping config, the Segment call, and the
// run's identity (schedule, delivery, receive time), which goes into deterministic ids.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/mapping/call_type.hpp"
#include "core/mapping/mapping_settings.hpp"

namespace lsr::core {

struct MapperOptions {
    core::MappingSettings mapping;
    CallType call = CallType::identify;
    std::string event;                       // track: form_params.event
    std::vector<std::string> hidden_fields;  // scheduled_plan.query.vis_config.hidden_fields
    std::string plan_id;                     // scheduled_plan_id
    std::string run_id;                      // e.g. X-Looker-Webhook-Id
    std::int64_t received_at_ms = 0;         // timestamp when the result has no ran_at
    std::uint32_t max_event_bytes = 32'000;  // SegmentConfig::max_event_bytes
    std::size_t max_row_bytes = 16u << 20;   // one row of the result, as text
    std::size_t max_warnings = 20;           // distinct warnings kept in the summary

    // Hub mode only: the random UUIDs the hub draws (anonymousId for id-less rows, the
    // messageId suffix). Tests inject a sequence; empty means std::random_device.
    std::function<std::string()> uuid_source;
    std::string hub_app_version = "dev";       // context.app.version (the hub's APP_VERSION)
    std::string hub_node_version = "20.11.1";  // _metadata.nodeVersion: process.versions.node, no "v"
};

}  // namespace lsr::core
