#include "server/http/request_parser.hpp"

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
        put(*file_parser_, false, buffer, ec);
    else
        put(*small_parser_, false, buffer, ec);
    if (!ec && header_bytes_ + trailer_bytes() > max_header_bytes_) ec = http::error::header_limit;
}

// The parser merges trailers into the message's fields.
std::uint64_t RequestParser::trailer_bytes() const {
    const auto all = field_bytes(file_parser_ ? file_parser_->get().base() : small_parser_->get().base());
    return all > header_field_bytes_ ? all - header_field_bytes_ : 0;
}

void RequestParser::begin_body(std::uint64_t limit, const std::string& file, beast::error_code& ec) {
    if (!file.empty()) {
        file_parser_.emplace(std::move(*header_parser_));
        file_parser_->get().body().open(file.c_str(), beast::file_mode::write, ec);
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
    const std::uint64_t size = file_parser_->get().body().size();
    file_parser_->get().body().close();
    file_parser_.reset();
    return size;
}

}  // namespace lsr::server
