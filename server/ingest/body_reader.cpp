#include "server/ingest/body_reader.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "core/mapping/attachment_decoder.hpp"

namespace lsr::server {

namespace {
const std::string kNoError;
const core::MappingSummary kEmptySummary;
}  // namespace

BodyReader::BodyReader(const core::MapperOptions& options, Origin origin, core::EventSink& sink,
                       std::function<bool()> stopped, std::function<bool()> interrupted)
    : options_(options),
      origin_(std::move(origin)),
      sink_(sink),
      stopped_(std::move(stopped)),
      interrupted_(std::move(interrupted)) {}

// What was read is mapped, even after an interruption (which only stops the reading).
void BodyReader::consume(std::string_view data) {
    if (stopped()) return;
    if (!mapper_) {
        head_.append(data);
        if (head_.size() < core::kFormatSniffBytes) return;
        make_mapper();
        return;
    }
    feed(data);
}

bool BodyReader::read_attachment(const std::string& body, const std::string& body_file,
                                 const core::AttachmentInfo& a, std::string& failure,
                                 const std::function<void()>& on_cut_short) {
    core::AttachmentDecoder decoder(a.kind, a.base64());
    std::string out;
    std::error_code ec;
    auto handle = [&](std::string_view raw) {
        out.clear();
        ec = decoder.feed(raw, out);
        if (!ec && !out.empty()) consume(out);
    };
    auto more = [&] { return !ec && !stopped() && !interrupted_(); };
    bool cut_short = false;  // stopped before the end of the data
    if (a.data_end < a.data_begin) {
        ec = std::make_error_code(std::errc::invalid_argument);
    } else if (body_file.empty()) {
        std::string_view span = std::string_view(body).substr(a.data_begin, a.data_end - a.data_begin);
        std::size_t off = 0;
        for (; off < span.size() && more(); off += kReadChunk) handle(span.substr(off, kReadChunk));
        cut_short = off < span.size();
    } else {
        int fd = ::open(body_file.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            failure = "The request body could not be read again.";
            return false;
        }
        std::string buf(kReadChunk, '\0');
        std::uint64_t pos = a.data_begin;
        while (pos < a.data_end && more()) {
            std::size_t want =
                static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), a.data_end - pos));
            ssize_t n = ::pread(fd, buf.data(), want, static_cast<off_t>(pos));
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) {
                failure = "The request body could not be read again.";
                break;
            }
            pos += static_cast<std::uint64_t>(n);
            handle(std::string_view(buf.data(), static_cast<std::size_t>(n)));
        }
        ::close(fd);
        cut_short = pos < a.data_end;
    }
    if (cut_short && on_cut_short) on_cut_short();
    if (!ec && failure.empty() && !stopped()) {
        out.clear();
        ec = decoder.finish(out);
        if (!ec && !out.empty()) consume(out);
    }
    if (ec && failure.empty() && !stopped())
        failure = "The attachment could not be decoded: " + ec.message() + ".";
    return true;
}

void BodyReader::end_of_data(bool complete) {
    if (!mapper_ && !stopped()) make_mapper();
    if (mapper_ && !stopped() && complete) {
        if (mapper_->finish()) failed_ = true;
    }
}

void BodyReader::make_mapper() {
    // The decision `preview` takes too (core::choose_result_format).
    core::ResultOrigin origin;
    origin.action_api = origin_.action_api;
    origin.inline_attachment = origin_.inline_attachment;
    origin.mimetype = origin_.mimetype;
    origin.extension = origin_.extension;
    format_ = core::choose_result_format(origin, std::string_view(head_).substr(0, core::kFormatSniffBytes));
    mapper_ = std::make_unique<core::ResultMapper>(options_, format_, sink_);
    std::string head = std::move(head_);
    head_.clear();
    feed(head);
}

void BodyReader::feed(std::string_view data) {
    if (stopped() || data.empty()) return;
    if (mapper_->feed(data)) {
        failed_ = true;
        halted_ = true;
    }
}

const std::string& BodyReader::error_message() const {
    return mapper_ ? mapper_->error_message() : kNoError;
}

const core::MappingSummary& BodyReader::summary() const {
    return mapper_ ? mapper_->summary() : kEmptySummary;
}

std::string_view BodyReader::format_name() const {
    return mapper_ ? core::result_format_name(format_) : std::string_view("none");
}

}  // namespace lsr::server
