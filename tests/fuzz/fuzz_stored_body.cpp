// Stored batch bodies: bytes read back from the spool's disk. Whatever they are, decoding
// either names the damage or gives events that store and decode again to the same bytes,
// and the gzip member built around an accepted header never reads outside the input.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/delivery/batch_envelope.hpp"
#include "core/delivery/body_compressor.hpp"
#include "core/delivery/gzip_envelope.hpp"
#include "core/delivery/stored_body.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using lsr::core::StoredBody;
    const std::string_view stored(reinterpret_cast<const char*>(data), size);
    StoredBody::View view;
    std::string error;
    const bool readable = StoredBody::inspect(stored, view, error);
    if (readable && view.compressed) {
        std::string wire;
        lsr::core::GzipEnvelope::assemble(lsr::core::BatchEnvelope::prefix("T", "k"), view, wire);
    }
    std::string events;
    if (!StoredBody::decode(stored, events, error)) {
        if (error.empty() || !events.empty()) std::abort();
        return 0;
    }
    if (!readable) std::abort();
    std::string again = events;
    std::string restored;
    lsr::core::BodyCompressor compressor(1);
    if (compressor.store(again, restored)) {
        std::string back;
        if (!StoredBody::decode(restored, back, error) || back != events || again != events) std::abort();
    }
    return 0;
}
