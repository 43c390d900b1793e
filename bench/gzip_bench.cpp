// gzip of real batch bodies: the relay's own compression beside zlib at level 1 on the same
// bodies, in the same run, body by body (so both see the same input at the same moment).
//
// The bodies are made as the relay makes them: a generated json_detail result of the
// end-to-end benchmark's row shape (id and email tagged, name, city, two measures) mapped in
// standard mode (identify events), packed by the batch builder with the default limits
// (~475 KB). The relay deflates each body once with libdeflate when it is spooled and wraps
// the stored stream in a gzip member per attempt; zlib-1 compresses the whole envelope.
//
//   gzip_bench [--rows 1000000]
//
// Prints MB/s (of uncompressed envelope, per CPU second of this thread) and the compression
// ratio for each, and the speed ratio relay / zlib-1.
#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>

#include "core/delivery/batch_builder.hpp"
#include "core/delivery/batch_envelope.hpp"
#include "core/delivery/body_compressor.hpp"
#include "core/delivery/gzip_envelope.hpp"
#include "core/delivery/stored_body.hpp"
#include "core/mapping/result_mapper.hpp"

namespace {

// The relay's compression path: the body is deflated once when it is spooled
// (BodyCompressor, libdeflate), and each attempt assembles the gzip member around it without
// compressing again (GzipEnvelope). Both are counted here, once per body: one attempt each.
lsr::core::BodyCompressor& relay_compressor() {
    static lsr::core::BodyCompressor compressor(1);
    return compressor;
}

bool relay_compress(std::string& events, const std::string& prefix, std::string& stored, std::string& out) {
    if (!relay_compressor().store(events, stored)) return false;
    lsr::core::StoredBody::View view;
    std::string error;
    if (!lsr::core::StoredBody::inspect(stored, view, error)) return false;
    lsr::core::GzipEnvelope::assemble(prefix, view, out);
    return true;
}

// The reference: zlib level 1, gzip wrapper, one shot per body (output buffer reused).
bool zlib1_compress(const std::string& in, std::string& out) {
    z_stream zs{};
    if (deflateInit2(&zs, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return false;
    const auto bound = deflateBound(&zs, static_cast<uLong>(in.size()));
    if (out.size() < bound) out.resize(bound);
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    zs.avail_in = static_cast<uInt>(in.size());
    zs.next_out = reinterpret_cast<Bytef*>(out.data());
    zs.avail_out = static_cast<uInt>(out.size());
    const int rc = deflate(&zs, Z_FINISH);
    const auto produced = zs.total_out;
    deflateEnd(&zs);
    if (rc != Z_STREAM_END) return false;
    out.resize(produced);
    return true;
}

bool gunzip(const std::string& in, std::string& out) {
    z_stream zs{};
    if (inflateInit2(&zs, 15 + 16) != Z_OK) return false;
    out.resize(in.size() * 20 + 1024);
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    zs.avail_in = static_cast<uInt>(in.size());
    zs.next_out = reinterpret_cast<Bytef*>(out.data());
    zs.avail_out = static_cast<uInt>(out.size());
    const int rc = inflate(&zs, Z_FINISH);
    out.resize(zs.total_out);
    inflateEnd(&zs);
    return rc == Z_STREAM_END;
}

double thread_cpu_seconds() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

const char* kHead = R"({"ran_at":"2026-12-01T06:00:00+00:00","fields":{"dimensions":[)"
                    R"({"name":"users.id","label":"Users ID","label_short":"ID","tags":["user_id"]},)"
                    R"({"name":"users.email","label":"Users Email","label_short":"Email","tags":["email"]},)"
                    R"({"name":"users.name","label":"Users Name","label_short":"Name","tags":[]},)"
                    R"({"name":"users.city","label":"Users City","label_short":"City","tags":[]}],)"
                    R"("measures":[{"name":"users.sessions_count","label":"Users Sessions Count",)"
                    R"("label_short":"Sessions Count","tags":[]},{"name":"users.lifetime_value",)"
                    R"("label":"Users Lifetime Value","label_short":"Lifetime Value","tags":[]}],)"
                    R"("table_calculations":[],"pivots":[]},"data":[)";

// One row as e2e_bench.py writes it.
void append_row(std::string& out, std::uint64_t i) {
    static const char* cities[] = {"Berlin", "Lisbon", "Austin", "Osaka", "Lagos"};
    char id[32];
    std::snprintf(id, sizeof id, "u%08llu", static_cast<unsigned long long>(i));
    const std::string n = std::to_string(i);
    out += R"({"users.id":{"value":")";
    out += id;
    out += R"("},"users.email":{"value":"user)";
    out += n;
    out += R"(@example.com"},"users.name":{"value":"User )";
    out += n;
    out += R"("},"users.city":{"value":")";
    out += cities[i % 5];
    out += R"("},"users.sessions_count":{"value":)";
    out += std::to_string(i % 97);
    out += R"(},"users.lifetime_value":{"value":)";
    out += std::to_string(i % 1000);
    out += ".5}}";
}

struct Side {
    double cpu = 0;
    std::uint64_t out_bytes = 0;
    std::string buf;
};

class CompressingSink final : public lsr::core::EventSink {
  public:
    lsr::core::BatchBuilder builder{lsr::core::BatchLimits{}};
    std::uint64_t events = 0, batches = 0, in_bytes = 0;
    Side relay, zlib1;
    bool failed = false;
    std::string stored_;

    void on_event(const lsr::core::MappedEvent& e) override {
        ++events;
        if (auto b = builder.add(e.json)) {
            take(b->body);
            builder.recycle(std::move(b->body));
        }
    }
    void on_reject(const lsr::core::RowReject&) override {}

    void take(std::string& body) {
        const std::string prefix = lsr::core::BatchEnvelope::prefix("2026-12-01T06:00:00.123Z", "wk_bench");
        const std::string env = lsr::core::BatchEnvelope::build(body, "2026-12-01T06:00:00.123Z", "wk_bench");
        ++batches;
        in_bytes += env.size();
        auto relay_run = [&] {
            const double c0 = thread_cpu_seconds();
            if (!relay_compress(body, prefix, stored_, relay.buf)) failed = true;
            relay.cpu += thread_cpu_seconds() - c0;
            relay.out_bytes += relay.buf.size();
        };
        // Alternate which one goes first, so neither always finds the body warm in cache.
        if (batches % 2) {
            relay_run();
            run(zlib1, env, zlib1_compress);
        } else {
            run(zlib1, env, zlib1_compress);
            relay_run();
        }
        if (batches == 1) {  // both must produce valid gzip of the same envelope
            std::string back;
            if (!gunzip(relay.buf, back) || back != env || !gunzip(zlib1.buf, back) || back != env)
                failed = true;
        }
    }

  private:
    template <typename F>
    void run(Side& s, const std::string& in, F f) {
        const double c0 = thread_cpu_seconds();
        if (!f(in, s.buf)) failed = true;
        s.cpu += thread_cpu_seconds() - c0;
        s.out_bytes += s.buf.size();
    }
};

}  // namespace

int main(int argc, char** argv) {
    std::uint64_t rows = 1'000'000;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (std::strcmp(argv[i], "--rows") == 0) rows = std::strtoull(argv[i + 1], nullptr, 10);
    }
    lsr::core::MapperOptions options;
    options.mapping.mode = lsr::core::MappingMode::standard;
    options.plan_id = "bench-plan";
    options.run_id = "bench-run";
    options.received_at_ms = 1796108122123;
    CompressingSink sink;
    lsr::core::ResultMapper mapper(options, lsr::core::ResultFormat::json_detail, sink);
    std::string chunk = kHead;
    auto feed = [&] {
        if (mapper.feed(chunk)) {
            std::fprintf(stderr, "mapping failed: %s\n", mapper.error_message().c_str());
            std::exit(1);
        }
        chunk.clear();
    };
    for (std::uint64_t i = 0; i < rows; ++i) {
        if (i) chunk += ',';
        append_row(chunk, i);
        if (chunk.size() >= 64 * 1024) feed();
    }
    chunk += "]}";
    feed();
    if (mapper.finish()) {
        std::fprintf(stderr, "mapping failed: %s\n", mapper.error_message().c_str());
        return 1;
    }
    if (auto b = sink.builder.flush()) sink.take(b->body);
    if (sink.failed || sink.batches == 0) {
        std::fprintf(stderr, "compression failed or did not round-trip\n");
        return 1;
    }
    const double mb = static_cast<double>(sink.in_bytes) / 1e6;
    auto line = [&](const char* name, const Side& s) {
        std::printf("%-22s %8.1f MB/s  ratio %5.2f  (%.3f CPU-s, %.1f MB -> %.1f MB, %.0f KB/body)\n", name,
                    mb / std::max(s.cpu, 1e-9),
                    static_cast<double>(sink.in_bytes) / std::max<double>(1, s.out_bytes), s.cpu, mb,
                    static_cast<double>(s.out_bytes) / 1e6,
                    static_cast<double>(s.out_bytes) / 1e3 / static_cast<double>(sink.batches));
    };
    std::printf("bodies                 %llu events, %llu batches, %.1f MB of envelopes (%.0f KB each)\n",
                static_cast<unsigned long long>(sink.events), static_cast<unsigned long long>(sink.batches),
                mb, mb * 1e3 / static_cast<double>(sink.batches));
    line("relay gzip", sink.relay);
    line("zlib level 1 (limit)", sink.zlib1);
    std::printf("relay/zlib-1 speed     %.2f (CPU-s per MB, >1 = relay faster)\n",
                sink.zlib1.cpu / std::max(sink.relay.cpu, 1e-9));
    std::printf("relay CPU-s per 1M rows %.3f (zlib-1: %.3f)\n",
                sink.relay.cpu * 1e6 / static_cast<double>(std::max<std::uint64_t>(rows, 1)),
                sink.zlib1.cpu * 1e6 / static_cast<double>(std::max<std::uint64_t>(rows, 1)));
    return 0;
}
