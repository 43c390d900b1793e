// One request's HTTP/1.1 parsing, fed from the session's bounded buffer, with every byte it
// can make the relay hold counted: the header against max_header_bytes, and chunk extensions
// and trailers against the same limit, with the header (a trailer block can never be larger
// than the buffer, which holds max_header_bytes). The header is parsed first; the body goes
// to memory or to a file once the session decided the request may send one. A file body is
// staged in memory and written in blocks of kFileBlockBytes (one write(2) per block, not one
// per read or per chunk).
#pragma once

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace lsr::server {

class RequestParser {
  public:
    static constexpr std::size_t kFileBlockBytes = 1 << 20;

    explicit RequestParser(std::uint32_t max_header_bytes);
    ~RequestParser();
    RequestParser(const RequestParser&) = delete;
    RequestParser& operator=(const RequestParser&) = delete;

    void start();  // a new request
    // Parses what the buffer holds. need_more: read more; header_limit: the header, chunk
    // extensions or trailers are over the limit; another error: malformed, or (for a file
    // body) the file could not be written. No error: the header (before begin_body) or the
    // whole message (after) is in.
    void feed(boost::beast::flat_buffer& buffer, boost::beast::error_code& ec);

    const boost::beast::http::request_header<>& header() const { return header_parser_->get().base(); }
    bool keep_alive() const { return header_parser_->get().keep_alive(); }
    bool has_body() const { return !header_parser_->is_done(); }
    std::optional<std::uint64_t> content_length() const;
    std::uint64_t header_bytes() const { return header_bytes_; }

    // Switches to reading the body: into the open file `file_fd` (the parser owns it from now
    // on and closes it), or into memory when it is negative.
    void begin_body(std::uint64_t limit, int file_fd, boost::beast::error_code& ec);
    std::string take_body();     // in memory
    std::uint64_t close_file();  // in a file: its size (every byte written)
    void reset();

  private:
    template <class Parser>
    void put(Parser& p, bool header_only, boost::beast::flat_buffer& buffer, boost::beast::error_code& ec);
    void put_file(boost::beast::flat_buffer& buffer, boost::beast::error_code& ec);
    bool flush(boost::beast::error_code& ec);  // writes the staged block
    void close_fd();
    std::uint64_t trailer_bytes() const;

    std::uint32_t max_header_bytes_;
    std::optional<boost::beast::http::request_parser<boost::beast::http::empty_body>> header_parser_;
    std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> small_parser_;
    std::optional<boost::beast::http::request_parser<boost::beast::http::buffer_body>> file_parser_;
    std::unique_ptr<char[]> staging_;  // kFileBlockBytes while a file body is read
    std::size_t staged_ = 0;
    std::uint64_t file_bytes_ = 0;  // written to the file so far
    int fd_ = -1;
    std::function<void(std::uint64_t, boost::beast::string_view, boost::beast::error_code&)> on_chunk_;
    std::uint64_t header_bytes_ = 0;  // the header, then its chunk extensions
    std::uint64_t header_field_bytes_ = 0;
};

}  // namespace lsr::server
