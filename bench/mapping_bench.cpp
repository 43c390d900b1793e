// Mapping throughput: a generated 1,000,000-row json_detail result (6 columns, tags on
// id and email) goes from bytes to serialized /v1/batch bodies on one thread, fed in
// 64 KiB chunks. The input is generated chunk by chunk on the fly, so it never sits in
// memory whole and peak RSS measures the pipeline, not the test data.
//
// Beside it, in the same run and over the same generated chunks, the machine's reference:
// RapidJSON's SAX reader with a no-op handler parsing the same bytes (pulled chunk by chunk
// from the same generator), and the generator alone. The ratio core / RapidJSON is taken on
// CPU seconds net of the generator's own cost. A counting operator new/delete gives the
// core's heap allocations and bytes per row (operator new only: OpenSSL's mallocs are not
// counted).
//
//   mapping_bench [rows] [hub|standard] [generate-only]
#include <rapidjson/reader.h>
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <string>

#include "core/delivery/batch_builder.hpp"
#include "core/mapping/result_mapper.hpp"

namespace {
std::atomic<std::uint64_t> g_allocs{0};
std::atomic<std::uint64_t> g_alloc_bytes{0};

void* counted_alloc(std::size_t n) {
    g_allocs.fetch_add(1, std::memory_order_relaxed);
    g_alloc_bytes.fetch_add(n, std::memory_order_relaxed);
    if (void* p = std::malloc(n ? n : 1)) return p;
    throw std::bad_alloc();
}
void* counted_alloc_aligned(std::size_t n, std::align_val_t a) {
    g_allocs.fetch_add(1, std::memory_order_relaxed);
    g_alloc_bytes.fetch_add(n, std::memory_order_relaxed);
    const auto al = static_cast<std::size_t>(a);
    if (void* p = std::aligned_alloc(al, (n + al - 1) / al * al)) return p;
    throw std::bad_alloc();
}
}  // namespace

// Every heap allocation of this executable goes through these (counted), then malloc.
void* operator new(std::size_t n) {
    return counted_alloc(n);
}
void* operator new[](std::size_t n) {
    return counted_alloc(n);
}
void* operator new(std::size_t n, std::align_val_t a) {
    return counted_alloc_aligned(n, a);
}
void* operator new[](std::size_t n, std::align_val_t a) {
    return counted_alloc_aligned(n, a);
}
void operator delete(void* p) noexcept {
    std::free(p);
}
void operator delete[](void* p) noexcept {
    std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
    std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
    std::free(p);
}
void operator delete(void* p, std::align_val_t) noexcept {
    std::free(p);
}
void operator delete[](void* p, std::align_val_t) noexcept {
    std::free(p);
}
void operator delete(void* p, std::size_t, std::align_val_t) noexcept {
    std::free(p);
}
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept {
    std::free(p);
}

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

// The input, chunk by chunk: the result's head, the rows, the closing "]}". Each chunk is
// at least kChunk bytes (a row is never split), the last one whatever is left.
class ChunkGenerator {
  public:
    explicit ChunkGenerator(std::uint64_t rows) : rows_(rows) { chunk_.reserve(kChunk + 4096); }
    // The next chunk, or nullptr at the end.
    const std::string* next() {
        if (done_) return nullptr;
        chunk_.clear();
        if (!started_) {
            chunk_ += kHead;
            started_ = true;
        }
        while (row_ < rows_ && chunk_.size() < kChunk) {
            if (row_) chunk_ += ',';
            append_row(chunk_, row_++);
        }
        if (row_ == rows_) {
            chunk_ += "]}";
            done_ = true;
        }
        bytes += chunk_.size();
        return &chunk_;
    }
    std::uint64_t bytes = 0;

  private:
    std::uint64_t rows_;
    std::uint64_t row_ = 0;
    bool started_ = false;
    bool done_ = false;
    std::string chunk_;
};

// A RapidJSON input stream over the generator's chunks (read-only: Peek, Take, Tell).
class GeneratedStream {
  public:
    using Ch = char;
    explicit GeneratedStream(ChunkGenerator& gen) : gen_(gen) { refill(); }
    Ch Peek() const { return p_ != end_ ? *p_ : '\0'; }
    Ch Take() {
        if (p_ == end_) return '\0';
        const Ch c = *p_++;
        if (p_ == end_) refill();
        return c;
    }
    std::size_t Tell() const { return consumed_ + static_cast<std::size_t>(p_ - begin_); }
    Ch* PutBegin() { return nullptr; }
    void Put(Ch) {}
    void Flush() {}
    std::size_t PutEnd(Ch*) { return 0; }

  private:
    void refill() {
        consumed_ += static_cast<std::size_t>(end_ - begin_);
        const std::string* c = gen_.next();
        while (c && c->empty()) c = gen_.next();
        begin_ = p_ = c ? c->data() : nullptr;
        end_ = c ? c->data() + c->size() : nullptr;
    }
    ChunkGenerator& gen_;
    const Ch* begin_ = nullptr;
    const Ch* p_ = nullptr;
    const Ch* end_ = nullptr;
    std::size_t consumed_ = 0;
};

struct Pass {
    double wall = 0;
    double cpu = 0;
    std::uint64_t bytes = 0;
};

template <typename F>
Pass timed(F&& f) {
    Pass p;
    const auto start = std::chrono::steady_clock::now();
    const double cpu_start = cpu_seconds();
    p.bytes = f();
    p.wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    p.cpu = cpu_seconds() - cpu_start;
    return p;
}

}  // namespace

int main(int argc, char** argv) {
    const std::uint64_t rows = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1'000'000;
    const bool hub = argc > 2 && std::string(argv[2]) == "hub";
    const bool generate_only = argc > 3 && std::string(argv[3]) == "generate-only";  // the input's own cost

    // The generator alone (the input's own cost, included in both figures below).
    const Pass gen = timed([&] {
        ChunkGenerator g(rows);
        while (g.next()) {
        }
        return g.bytes;
    });
    // The reference: RapidJSON's SAX reader, no-op handler, over the same chunks.
    bool raw_ok = true;
    const Pass raw = generate_only ? Pass{} : timed([&] {
        ChunkGenerator g(rows);
        GeneratedStream in(g);
        rapidjson::BaseReaderHandler<> handler;
        rapidjson::Reader reader;
        raw_ok = !reader.Parse(in, handler).IsError();
        return g.bytes;
    });
    if (!raw_ok) {
        std::fprintf(stderr, "RapidJSON could not parse the generated input\n");
        return 1;
    }

    lsr::core::MapperOptions options;
    options.mapping.mode = hub ? lsr::core::MappingMode::hub : lsr::core::MappingMode::standard;
    options.plan_id = "bench-plan";
    options.run_id = "bench-run";
    options.received_at_ms = 1796108122123;
    BatchingSink sink;
    lsr::core::ResultMapper mapper(options, lsr::core::ResultFormat::json_detail, sink);

    const std::uint64_t allocs_start = g_allocs.load();
    const std::uint64_t alloc_bytes_start = g_alloc_bytes.load();
    std::uint64_t input_bytes = 0;
    const auto start = std::chrono::steady_clock::now();
    const double cpu_start = cpu_seconds();
    ChunkGenerator g(rows);
    while (const std::string* chunk = g.next()) {
        if (generate_only) continue;
        if (auto ec = mapper.feed(*chunk)) {
            std::fprintf(stderr, "mapping failed: %s\n", mapper.error_message().c_str());
            return 1;
        }
    }
    input_bytes = g.bytes;
    if (!generate_only && mapper.finish()) {
        std::fprintf(stderr, "mapping failed: %s\n", mapper.error_message().c_str());
        return 1;
    }
    if (auto b = sink.builder.flush()) sink.take(*b);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double cpu = cpu_seconds() - cpu_start;
    const double allocs = static_cast<double>(g_allocs.load() - allocs_start);
    const double alloc_bytes = static_cast<double>(g_alloc_bytes.load() - alloc_bytes_start);

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
    if (!generate_only) {
        const double n = static_cast<double>(rows ? rows : 1);
        std::printf("allocations     %.2f per row, %.0f bytes per row (operator new, core pass)\n",
                    allocs / n, alloc_bytes / n);
        // Net of the generator: the CPU seconds each pass spent beyond producing the bytes.
        const double core_net = std::max(cpu - gen.cpu, 1e-9);
        const double raw_net = std::max(raw.cpu - gen.cpu, 1e-9);
        std::printf("generator       %.3f s cpu (%.1f MB/s), included in both figures above and below\n",
                    gen.cpu, input_bytes / 1e6 / std::max(gen.cpu, 1e-9));
        std::printf(
            "rapidjson raw   %.3f s, cpu %.3f s: %.0f rows/s (per CPU second: %.0f), %.1f MB/s "
            "(SAX reader, no-op handler, same %zu-byte chunks)\n",
            raw.wall, raw.cpu, rows / raw.wall, rows / raw.cpu, raw.bytes / 1e6 / raw.wall, kChunk);
        std::printf("net of generator core %.0f rows/CPU-s, rapidjson %.0f rows/CPU-s\n", rows / core_net,
                    rows / raw_net);
        std::printf("core/raw        %.2f (CPU, net of the generator; %.2f with it)\n", raw_net / core_net,
                    raw.cpu / cpu);
    }
    return generate_only || sink.events == rows ? 0 : 1;
}
