// Mapping throughput: a generated 1,000,000-row json_detail result (6 columns, tags on
// id and email) goes from bytes to serialized /v1/batch bodies on one thread, fed in
// 64 KiB chunks. The input is generated chunk by chunk on the fly, so it never sits in
// memory whole and peak RSS measures the pipeline, not the test data.
//
//   mapping_bench [rows] [hub|standard] [generate-only]
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/delivery/batch_builder.hpp"
#include "core/mapping/result_mapper.hpp"

namespace {

constexpr std::size_t kChunk = 64 * 1024;

const char* kHead =
    R"({"id":"bench","from_cache":false,"ran_at":"2026-12-01T06:00:00+00:00","fields":{"dimensions":[)"
    R"({"name":"users.id","label":"Users ID","label_short":"ID","tags":["user_id"],"type":"number"},)"
    R"({"name":"users.email","label":"Users Email","label_short":"Email","tags":["email"],"type":"string"},)"
    R"({"name":"users.name","label":"Users Name","label_short":"Name","tags":[],"type":"string"},)"
    R"({"name":"users.plan","label":"Users Plan","label_short":"Plan","tags":[],"type":"string"}],)"
    R"("measures":[{"name":"users.sessions_count","label":"Users Sessions Count","label_short":"Sessions Count",)"
    R"("tags":[],"type":"count"},{"name":"users.lifetime_value","label":"Users Lifetime Value",)"
    R"("label_short":"Lifetime Value","tags":[],"type":"sum"}],"table_calculations":[],"pivots":[]},"data":[)";

void append_row(std::string& out, std::uint64_t i) {
    const std::string n = std::to_string(i);
    out += R"({"users.id":{"value":)";
    out += n;
    out += R"(},"users.email":{"value":"user)";
    out += n;
    out += R"(@example.com"},"users.name":{"value":"User Number )";
    out += n;
    out += R"("},"users.plan":{"value":")";
    out += (i % 3 == 0 ? "enterprise" : i % 3 == 1 ? "pro" : "free");
    out += R"("},"users.sessions_count":{"value":)";
    out += std::to_string(i % 97);
    out += R"(,"links":[{"label":"Show All","url":"/explore/x?fields=users.id","type":"measure_default"}]},)";
    out += R"("users.lifetime_value":{"value":)";
    out += std::to_string(i % 1000);
    out += ".25,\"rendered\":\"$";
    out += std::to_string(i % 1000);
    out += ".25\"}}";
}

class BatchingSink final : public lsr::core::EventSink {
  public:
    lsr::core::BatchBuilder builder{lsr::core::BatchLimits{}};
    std::uint64_t events = 0, rejects = 0, batches = 0, batch_bytes = 0;

    void on_event(const lsr::core::MappedEvent& e) override {
        ++events;
        if (auto b = builder.add(e.json)) {
            take(*b);
            builder.recycle(std::move(b->body));  // as the server does once a batch is spooled
        }
    }
    void on_reject(const lsr::core::RowReject&) override { ++rejects; }
    void take(const lsr::core::Batch& b) {
        ++batches;
        batch_bytes += b.body.size();
    }
};

long peak_rss_kib() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_maxrss;
}

// CPU seconds of this process: on a shared machine the wall clock also counts the time
// other processes held the core.
double cpu_seconds() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
           static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
    const std::uint64_t rows = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1'000'000;
    const bool hub = argc > 2 && std::string(argv[2]) == "hub";
    const bool generate_only = argc > 3 && std::string(argv[3]) == "generate-only";  // the input's own cost

    lsr::core::MapperOptions options;
    options.mapping.mode = hub ? lsr::core::MappingMode::hub : lsr::core::MappingMode::standard;
    options.plan_id = "bench-plan";
    options.run_id = "bench-run";
    options.received_at_ms = 1796108122123;
    BatchingSink sink;
    lsr::core::ResultMapper mapper(options, lsr::core::ResultFormat::json_detail, sink);

    std::string chunk;
    chunk.reserve(kChunk + 4096);
    std::uint64_t input_bytes = 0;
    const auto start = std::chrono::steady_clock::now();
    const double cpu_start = cpu_seconds();
    auto feed = [&] {
        input_bytes += chunk.size();
        if (generate_only) {
            chunk.clear();
            return;
        }
        if (auto ec = mapper.feed(chunk)) {
            std::fprintf(stderr, "mapping failed: %s\n", mapper.error_message().c_str());
            std::exit(1);
        }
        chunk.clear();
    };
    chunk += kHead;
    for (std::uint64_t i = 0; i < rows; ++i) {
        if (i) chunk += ',';
        append_row(chunk, i);
        if (chunk.size() >= kChunk) feed();
    }
    chunk += "]}";
    feed();
    if (!generate_only && mapper.finish()) {
        std::fprintf(stderr, "mapping failed: %s\n", mapper.error_message().c_str());
        return 1;
    }
    if (auto b = sink.builder.flush()) sink.take(*b);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double cpu = cpu_seconds() - cpu_start;

    std::printf("mode            %s\n", hub ? "hub" : "standard");
    std::printf("rows            %llu (accepted %llu, rejected %llu)\n",
                static_cast<unsigned long long>(rows), static_cast<unsigned long long>(sink.events),
                static_cast<unsigned long long>(sink.rejects));
    std::printf("input           %.1f MB in %zu-byte chunks (generated on the fly, generation included)\n",
                input_bytes / 1e6, kChunk);
    std::printf("batches         %llu, %.1f MB of bodies\n", static_cast<unsigned long long>(sink.batches),
                sink.batch_bytes / 1e6);
    std::printf("time            %.3f s\n", seconds);
    std::printf("cpu time        %.3f s\n", cpu);
    std::printf("rows/s          %.0f (per CPU second: %.0f)\n", rows / seconds, rows / cpu);
    std::printf("input MB/s      %.1f\n", input_bytes / 1e6 / seconds);
    std::printf("peak RSS        %.1f MB\n", peak_rss_kib() / 1024.0);
    return generate_only || sink.events == rows ? 0 : 1;
}
