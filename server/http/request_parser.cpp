#include "server/http/request_parser.hpp"

#include <unistd.h>

#include <cerrno>

namespace lsr::server {

namespace beast = boost::beast;
namespace http = boost::beast::http;

namespace {

// What a set of fields costs, as they stand in a header block.
std::uint64_t field_bytes(const http::fields& f) {
    std::uint64_t n = 0;
    for (const auto& x : f) n += x.name_string().size() + x.value().size() + 4;
    return n;
}

}  // namespace

RequestParser::RequestParser(std::uint32_t max_header_bytes) : max_header_bytes_(max_header_bytes) {
    on_chunk_ = [this](std::uint64_t, beast::string_view ext, beast::error_code& ec) {
        header_bytes_ += ext.size();
        if (header_bytes_ > max_header_bytes_) ec = http::error::header_limit;
    };
}

RequestParser::~RequestParser() {
    close_fd();
}

void RequestParser::start() {
    reset();
    header_parser_.emplace();
    header_parser_->header_limit(max_header_bytes_);
    header_parser_->body_limit(boost::none);  // the route's limit is set by begin_body
}

void RequestParser::reset() {
    header_parser_.reset();
    small_parser_.reset();
    file_parser_.reset();
    close_fd();
    staging_.reset();
    staged_ = 0;
    file_bytes_ = 0;
    header_bytes_ = 0;
    header_field_bytes_ = 0;
}

std::optional<std::uint64_t> RequestParser::content_length() const {
    const auto n = header_parser_->content_length();
    return n ? std::optional<std::uint64_t>(*n) : std::nullopt;
}

template <class Parser>
void RequestParser::put(Parser& p, bool header_only, beast::flat_buffer& buffer, beast::error_code& ec) {
    for (;;) {
        if (buffer.size() == 0) {
            ec = http::error::need_more;
            return;
        }
        const auto used = p.put(buffer.data(), ec);
        buffer.consume(used);
        if (header_only) header_bytes_ += used;
        if (ec) return;
        if (header_only ? p.is_header_done() : p.is_done()) return;
        if (used == 0) {
            ec = http::error::need_more;
            return;
        }
    }
}

void RequestParser::feed(beast::flat_buffer& buffer, beast::error_code& ec) {
    ec = {};
    if (header_parser_) {
        put(*header_parser_, true, buffer, ec);
        if (ec == http::error::need_more && header_bytes_ + buffer.size() >= max_header_bytes_)
            ec = http::error::header_limit;
        if (!ec) header_field_bytes_ = field_bytes(header_parser_->get().base());
        return;
    }
    if (file_parser_)
        put_file(buffer, ec);
    else
        put(*small_parser_, false, buffer, ec);
    if (!ec && header_bytes_ + trailer_bytes() > max_header_bytes_) ec = http::error::header_limit;
}

// The body goes into the staging block; a full block (need_buffer) and the end of the body
// are written out. A write error is a system error code (not an http one): the caller
// tells it from a malformed request by its category.
void RequestParser::put_file(beast::flat_buffer& buffer, beast::error_code& ec) {
    auto& p = *file_parser_;
    for (;;) {
        if (staged_ == kFileBlockBytes && !flush(ec)) return;
        if (buffer.size() == 0) {
            ec = http::error::need_more;
            return;
        }
        auto& body = p.get().body();
        body.data = staging_.get() + staged_;
        body.size = kFileBlockBytes - staged_;
        body.more = true;
        const auto used = p.put(buffer.data(), ec);
        buffer.consume(used);
        staged_ = kFileBlockBytes - body.size;
        if (ec == http::error::need_buffer) {
            ec = {};
            if (!flush(ec)) return;
            continue;
        }
        if (ec) return;
        if (p.is_done()) {
            flush(ec);
            return;
        }
        if (used == 0) {
            ec = http::error::need_more;
            return;
        }
    }
}

bool RequestParser::flush(beast::error_code& ec) {
    std::size_t off = 0;
    while (off < staged_) {
        const ssize_t n = ::write(fd_, staging_.get() + off, staged_ - off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            ec.assign(n < 0 ? errno : ENOSPC, boost::system::generic_category());
            return false;
        }
        off += static_cast<std::size_t>(n);
    }
    file_bytes_ += staged_;
    staged_ = 0;
    return true;
}

void RequestParser::close_fd() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
}

// The parser merges trailers into the message's fields.
std::uint64_t RequestParser::trailer_bytes() const {
    const auto all = field_bytes(file_parser_ ? file_parser_->get().base() : small_parser_->get().base());
    return all > header_field_bytes_ ? all - header_field_bytes_ : 0;
}

void RequestParser::begin_body(std::uint64_t limit, int file_fd, beast::error_code& ec) {
    ec = {};
    if (file_fd >= 0) {
        close_fd();
        fd_ = file_fd;
        staged_ = 0;
        file_bytes_ = 0;
        if (!staging_) staging_ = std::make_unique_for_overwrite<char[]>(kFileBlockBytes);
        file_parser_.emplace(std::move(*header_parser_));
        file_parser_->body_limit(limit);
        file_parser_->eager(true);
        file_parser_->on_chunk_header(on_chunk_);
    } else {
        small_parser_.emplace(std::move(*header_parser_));
        small_parser_->body_limit(limit);
        small_parser_->eager(true);
        small_parser_->on_chunk_header(on_chunk_);
    }
    header_parser_.reset();
}

std::string RequestParser::take_body() {
    std::string body = std::move(small_parser_->get().body());
    small_parser_.reset();
    return body;
}

std::uint64_t RequestParser::close_file() {
    const std::uint64_t size = file_bytes_;
    close_fd();
    file_parser_.reset();
    staging_.reset();
    return size;
}

}  // namespace lsr::server
