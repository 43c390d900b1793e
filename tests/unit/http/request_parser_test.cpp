#include "server/http/request_parser.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/buffer.hpp>
#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>

using namespace lsr::server;
namespace http = boost::beast::http;

namespace {

// Feeds `text` in one piece into a buffer bounded like the session's; returns the last error.
boost::beast::error_code feed(RequestParser& p, boost::beast::flat_buffer& b, const std::string& text) {
    boost::beast::error_code ec;
    const auto room = b.max_size() - b.size();
    const auto n = std::min(room, text.size());
    b.commit(boost::asio::buffer_copy(b.prepare(n), boost::asio::buffer(text.data(), n)));
    p.feed(b, ec);
    return ec;
}

const std::string kChunkedHead = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";

}  // namespace

TEST_CASE("a chunked body with a small trailer is read into memory", "[request_parser]") {
    RequestParser p(1024);
    boost::beast::flat_buffer b(1024);
    p.start();
    REQUIRE_FALSE(feed(p, b, kChunkedHead));
    CHECK(p.has_body());
    boost::beast::error_code ec;
    p.begin_body(1000, -1, ec);
    REQUIRE_FALSE(ec);
    REQUIRE_FALSE(feed(p, b, "1;a=b\r\n{\r\n1\r\n}\r\n0\r\nX-T: 1\r\n\r\n"));
    CHECK(p.take_body() == "{}");
}

TEST_CASE("the header limit counts the header", "[request_parser]") {
    RequestParser p(256);
    boost::beast::flat_buffer b(256);
    p.start();
    CHECK(feed(p, b, "GET / HTTP/1.1\r\nX: " + std::string(300, 'a') + "\r\n\r\n") ==
          http::error::header_limit);
}

TEST_CASE("chunk extensions add up against the header limit", "[request_parser]") {
    RequestParser p(512);
    boost::beast::flat_buffer b(512);
    p.start();
    REQUIRE_FALSE(feed(p, b, kChunkedHead));
    boost::beast::error_code ec;
    p.begin_body(100000, -1, ec);
    boost::beast::error_code last;
    for (int i = 0; i < 10 && last != http::error::header_limit; ++i)
        last = feed(p, b, "1;e=" + std::string(100, 'x') + "\r\nz\r\n");
    CHECK(last == http::error::header_limit);
}

TEST_CASE("trailers add up against the header limit with the header", "[request_parser]") {
    RequestParser p(512);
    boost::beast::flat_buffer b(512);
    p.start();
    REQUIRE_FALSE(feed(p, b, kChunkedHead));  // about 60 bytes
    boost::beast::error_code ec;
    p.begin_body(100000, -1, ec);
    // A trailer block that fits the buffer on its own, but not with the header.
    std::string trailers;
    for (int i = 0; i < 5; ++i) trailers += "X-T" + std::to_string(i) + ": " + std::string(90, 't') + "\r\n";
    CHECK(feed(p, b, "1\r\nz\r\n0\r\n" + trailers + "\r\n") == http::error::header_limit);
}

TEST_CASE("a trailer block larger than the buffer never completes", "[request_parser]") {
    RequestParser p(512);
    boost::beast::flat_buffer b(512);
    p.start();
    REQUIRE_FALSE(feed(p, b, kChunkedHead));
    boost::beast::error_code ec;
    p.begin_body(100000, -1, ec);
    CHECK(feed(p, b, "0\r\n" + std::string(2000, 'a')) == http::error::need_more);
    CHECK(b.size() == b.max_size());  // the session answers 431 when the full buffer needs more
}

namespace {

// A temp file the parser writes into; removed at the end.
struct TempBody {
    std::string path = "/tmp/lsr-request-parser-XXXXXX";
    int fd = ::mkstemp(path.data());
    ~TempBody() { ::unlink(path.c_str()); }
    std::uint64_t size() const {
        struct stat st {};
        return ::stat(path.c_str(), &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
    }
    std::string content() const {
        std::ifstream in(path, std::ios::binary);
        return std::string(std::istreambuf_iterator<char>(in), {});
    }
};

// Feeds `text` in pieces of at most `piece` bytes, as reads would bring it.
boost::beast::error_code feed_pieces(RequestParser& p, boost::beast::flat_buffer& b, const std::string& text,
                                     std::size_t piece) {
    boost::beast::error_code ec = http::error::need_more;
    for (std::size_t off = 0; off < text.size(); off += piece) {
        ec = feed(p, b, text.substr(off, std::min(piece, text.size() - off)));
        if (ec && ec != http::error::need_more) return ec;
    }
    return ec;
}

}  // namespace

TEST_CASE("a file body is written in whole blocks, not per read", "[request_parser]") {
    TempBody file;
    REQUIRE(file.fd >= 0);
    RequestParser p(1024);
    boost::beast::flat_buffer b(64 * 1024);
    p.start();
    REQUIRE_FALSE(feed(p, b, kChunkedHead));
    boost::beast::error_code ec;
    p.begin_body(100 << 20, file.fd, ec);
    REQUIRE_FALSE(ec);

    // 2.5 blocks of body in 16 KiB chunks, fed in reads of 10,000 bytes.
    std::string body;
    std::string wire;
    const std::size_t total = RequestParser::kFileBlockBytes * 5 / 2;
    for (std::size_t i = 0; body.size() < total; ++i) {
        std::string chunk(16 * 1024, static_cast<char>('a' + i % 26));
        chunk[0] = '#';
        body += chunk;
        char line[32];
        std::snprintf(line, sizeof line, "%zx\r\n", chunk.size());
        wire += line + chunk + "\r\n";
    }
    const std::size_t first_block_wire = RequestParser::kFileBlockBytes / 2;  // half a block of body at most
    CHECK(feed_pieces(p, b, wire.substr(0, first_block_wire), 10000) == http::error::need_more);
    CHECK(file.size() == 0);  // nothing written before a block is full
    CHECK(feed_pieces(p, b, wire.substr(first_block_wire) + "0\r\n\r\n", 10000) ==
          boost::beast::error_code{});
    CHECK(p.close_file() == body.size());
    CHECK(file.size() == body.size());
    CHECK(file.content() == body);
}

TEST_CASE("a Content-Length file body shorter than a block is written at its end", "[request_parser]") {
    TempBody file;
    REQUIRE(file.fd >= 0);
    RequestParser p(1024);
    boost::beast::flat_buffer b(64 * 1024);
    p.start();
    const std::string body(5000, 'x');
    REQUIRE_FALSE(feed(p, b, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n"));
    boost::beast::error_code ec;
    p.begin_body(1 << 20, file.fd, ec);
    REQUIRE_FALSE(ec);
    CHECK(feed(p, b, body.substr(0, 3000)) == http::error::need_more);
    CHECK(feed(p, b, body.substr(3000)) == boost::beast::error_code{});
    CHECK(p.close_file() == 5000);
    CHECK(file.content() == body);
}

TEST_CASE("a file body that cannot be written is a system error, not an http one", "[request_parser]") {
    const int full = ::open("/dev/full", O_WRONLY | O_CLOEXEC);  // every write fails: ENOSPC
    REQUIRE(full >= 0);
    RequestParser p(1024);
    boost::beast::flat_buffer b(64 * 1024);
    p.start();
    REQUIRE_FALSE(feed(p, b, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n"));
    boost::beast::error_code ec;
    p.begin_body(1 << 20, full, ec);
    REQUIRE_FALSE(ec);
    const auto got = feed(p, b, "0123456789");
    CHECK(got);
    CHECK(got.category() != http::make_error_code(http::error::need_more).category());
}
