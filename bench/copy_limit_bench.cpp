// The machine's limit for moving a body from a loopback socket to a file: a plain copy, no
// parsing beyond HTTP framing, 256 KiB recv() calls and 1 MiB write() calls to a temp file.
// e2e_bench.py sends the relay's execute body to it in the same run, the same way (same
// framing, same chunk size), and prints its figures beside the relay's.
//
//   copy_limit_bench serve [--port N] [--dir D]   accept one HTTP POST, store its body, answer 200
//   copy_limit_bench get URL [--dir D]            GET http://127.0.0.1:PORT/PATH, store the body
//
// serve prints "listening PORT" once bound; both print one JSON line at the end: bytes, wall
// and CPU seconds (from the first byte to the last one written), and the system calls the
// tool made for the copy (counted by the tool itself).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

constexpr std::size_t kRecv = 256 * 1024;
constexpr std::size_t kWrite = 1024 * 1024;

struct Counts {
    std::uint64_t recv = 0, write = 0, other = 0;
};
Counts calls;

double cpu_seconds() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

[[noreturn]] void die(const char* what) {
    std::fprintf(stderr, "copy_limit_bench: %s: %s\n", what, std::strerror(errno));
    std::exit(1);
}

// The body goes to a temp file through a 1 MiB staging buffer.
class FileSink {
  public:
    explicit FileSink(const std::string& dir) : path_(dir + "/copy-limit-XXXXXX") {
        fd_ = ::mkstemp(path_.data());
        ++calls.other;
        if (fd_ < 0) die("mkstemp");
        stage_.reserve(kWrite);
    }
    ~FileSink() {
        ::close(fd_);
        ::unlink(path_.c_str());
    }
    void put(const char* p, std::size_t n) {
        bytes += n;
        while (n > 0) {
            const std::size_t take = std::min(n, kWrite - stage_.size());
            stage_.insert(stage_.end(), p, p + take);
            p += take;
            n -= take;
            if (stage_.size() == kWrite) flush();
        }
    }
    void flush() {
        std::size_t off = 0;
        while (off < stage_.size()) {
            const ssize_t w = ::write(fd_, stage_.data() + off, stage_.size() - off);
            ++calls.write;
            if (w < 0 && errno == EINTR) continue;
            if (w < 0) die("write");
            off += static_cast<std::size_t>(w);
        }
        stage_.clear();
    }
    std::uint64_t bytes = 0;

  private:
    std::string path_;
    int fd_ = -1;
    std::vector<char> stage_;
};

// HTTP/1.1 body framing: Content-Length, chunked, or (a response without either) until close.
class BodyCopier {
  public:
    BodyCopier(FileSink& sink, std::string_view head) : sink_(sink) {
        std::string lower(head);
        for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (lower.find("transfer-encoding: chunked") != std::string::npos) {
            chunked_ = true;
        } else if (auto at = lower.find("content-length:"); at != std::string::npos) {
            remaining_ = std::strtoull(lower.c_str() + at + 15, nullptr, 10);
            until_close_ = false;
        } else {
            until_close_ = true;
        }
        done_ = !chunked_ && !until_close_ && remaining_ == 0;
    }
    bool done() const { return done_; }
    bool until_close() const { return until_close_; }

    // Consumes received bytes; returns false on a framing error.
    bool feed(const char* p, std::size_t n) {
        if (!chunked_) {
            const std::size_t take =
                until_close_ ? n : static_cast<std::size_t>(std::min<std::uint64_t>(n, remaining_));
            sink_.put(p, take);
            if (!until_close_) {
                remaining_ -= take;
                done_ = remaining_ == 0;
            }
            return true;
        }
        while (n > 0 && !done_) {
            switch (state_) {
                case State::size_line:
                case State::trailer: {
                    const char* nl = static_cast<const char*>(std::memchr(p, '\n', n));
                    const std::size_t take = nl ? static_cast<std::size_t>(nl - p + 1) : n;
                    line_.append(p, take);
                    p += take;
                    n -= take;
                    if (!nl) break;
                    if (state_ == State::size_line) {
                        remaining_ = std::strtoull(line_.c_str(), nullptr, 16);
                        state_ = remaining_ == 0 ? State::trailer : State::data;
                    } else if (line_ == "\r\n" || line_ == "\n") {
                        done_ = true;
                    }
                    line_.clear();
                    break;
                }
                case State::data: {
                    const std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(n, remaining_));
                    sink_.put(p, take);
                    p += take;
                    n -= take;
                    remaining_ -= take;
                    if (remaining_ == 0) state_ = State::data_end;
                    break;
                }
                case State::data_end: {  // the CRLF after a chunk's data
                    const char c = *p++;
                    --n;
                    if (c == '\n') state_ = State::size_line;
                    break;
                }
            }
        }
        return true;
    }

  private:
    enum class State { size_line, data, data_end, trailer };
    FileSink& sink_;
    bool chunked_ = false;
    bool until_close_ = false;
    bool done_ = false;
    std::uint64_t remaining_ = 0;
    State state_ = State::size_line;
    std::string line_;
};

ssize_t recv_some(int fd, char* buf, std::size_t n) {
    for (;;) {
        const ssize_t r = ::recv(fd, buf, n, 0);
        ++calls.recv;
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) die("recv");
        return r;
    }
}

void send_all(int fd, const std::string& s) {
    std::size_t off = 0;
    while (off < s.size()) {
        const ssize_t w = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
        ++calls.other;
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) die("send");
        off += static_cast<std::size_t>(w);
    }
}

struct Result {
    std::uint64_t bytes = 0;
    double wall = 0, cpu = 0;
    long minflt = 0;
};

long minor_faults() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return u.ru_minflt;
}
long g_minflt0 = 0;  // at the start of the copy

// Reads a head then its body from fd into a file. Timing starts at the first byte.
Result copy_message(int fd, const std::string& dir, std::chrono::steady_clock::time_point& start,
                    double& cpu0) {
    std::vector<char> buf(kRecv);
    std::string head;
    std::size_t head_end = std::string::npos;
    bool started = false;
    while (head_end == std::string::npos) {
        const ssize_t r = recv_some(fd, buf.data(), buf.size());
        if (r == 0) die("closed before the end of the head");
        if (!started) {
            start = std::chrono::steady_clock::now();
            cpu0 = cpu_seconds();
            g_minflt0 = minor_faults();
            started = true;
        }
        head.append(buf.data(), static_cast<std::size_t>(r));
        head_end = head.find("\r\n\r\n");
        if (head.size() > 1024 * 1024) die("head too large");
    }
    FileSink sink(dir);
    BodyCopier body(sink, std::string_view(head).substr(0, head_end));
    body.feed(head.data() + head_end + 4, head.size() - head_end - 4);
    while (!body.done()) {
        const ssize_t r = recv_some(fd, buf.data(), buf.size());
        if (r == 0) {
            if (body.until_close()) break;
            die("closed before the end of the body");
        }
        body.feed(buf.data(), static_cast<std::size_t>(r));
    }
    sink.flush();
    Result out;
    out.bytes = sink.bytes;
    return out;
}

// VmHWM of this image (ru_maxrss would carry the forking parent's peak across exec).
double peak_rss_mb() {
    std::FILE* f = std::fopen("/proc/self/status", "r");
    if (!f) return 0;
    char line[256];
    double mb = 0;
    while (std::fgets(line, sizeof line, f)) {
        if (std::strncmp(line, "VmHWM:", 6) == 0) mb = std::strtod(line + 6, nullptr) / 1024.0;
    }
    std::fclose(f);
    return mb;
}

void report(const char* mode, const Result& r) {
    std::printf(
        "{\"mode\":\"%s\",\"bytes\":%llu,\"wall_s\":%.4f,\"cpu_s\":%.4f,\"recv_calls\":%llu,"
        "\"write_calls\":%llu,\"syscalls\":%llu,\"minflt\":%ld,\"peak_rss_mb\":%.1f}\n",
        mode, static_cast<unsigned long long>(r.bytes), r.wall, r.cpu,
        static_cast<unsigned long long>(calls.recv), static_cast<unsigned long long>(calls.write),
        static_cast<unsigned long long>(calls.recv + calls.write + calls.other), r.minflt, peak_rss_mb());
    std::fflush(stdout);
}

int serve(int port, const std::string& dir) {
    const int ls = ::socket(AF_INET, SOCK_STREAM, 0);
    if (ls < 0) die("socket");
    const int one = 1;
    ::setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(ls, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) die("bind");
    if (::listen(ls, 4) < 0) die("listen");
    socklen_t len = sizeof addr;
    ::getsockname(ls, reinterpret_cast<sockaddr*>(&addr), &len);
    std::printf("listening %d\n", ntohs(addr.sin_port));
    std::fflush(stdout);
    const int fd = ::accept(ls, nullptr, nullptr);
    if (fd < 0) die("accept");
    ::close(ls);
    calls = Counts{};
    std::chrono::steady_clock::time_point start;
    double cpu0 = 0;
    Result r = copy_message(fd, dir, start, cpu0);
    send_all(fd, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}");
    r.wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    r.cpu = cpu_seconds() - cpu0;
    r.minflt = minor_faults() - g_minflt0;
    ::close(fd);
    report("serve", r);
    return 0;
}

int get(const std::string& url, const std::string& dir) {
    // http://127.0.0.1:PORT/PATH only: the limit is measured on loopback.
    const std::string prefix = "http://127.0.0.1:";
    if (url.rfind(prefix, 0) != 0) {
        std::fprintf(stderr, "copy_limit_bench: only http://127.0.0.1:PORT/... URLs\n");
        return 2;
    }
    const std::size_t slash = url.find('/', prefix.size());
    const int port = std::atoi(url.substr(prefix.size(), slash - prefix.size()).c_str());
    const std::string target = slash == std::string::npos ? "/" : url.substr(slash);
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) die("socket");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    calls = Counts{};
    const auto t0 = std::chrono::steady_clock::now();
    const double c0 = cpu_seconds();
    const long f0 = minor_faults();
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) die("connect");
    ++calls.other;
    send_all(fd, "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                     "\r\nAccept: application/json\r\nConnection: close\r\n\r\n");
    std::chrono::steady_clock::time_point start;
    double cpu0 = 0;
    Result r = copy_message(fd, dir, start, cpu0);
    // For a download the time runs from the request, as the relay's does.
    r.wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    r.cpu = cpu_seconds() - c0;
    r.minflt = minor_faults() - f0;
    ::close(fd);
    report("get", r);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: copy_limit_bench serve [--port N] [--dir D] | get URL [--dir D]\n");
        return 2;
    }
    const std::string mode = argv[1];
    int port = 0;
    std::string dir = "/tmp";
    std::string url;
    for (int i = 2; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--port" && i + 1 < argc) {
            port = std::atoi(argv[++i]);
        } else if (a == "--dir" && i + 1 < argc) {
            dir = argv[++i];
        } else {
            url = a;
        }
    }
    if (mode == "serve") return serve(port, dir);
    if (mode == "get" && !url.empty()) return get(url, dir);
    std::fprintf(stderr, "usage: copy_limit_bench serve [--port N] [--dir D] | get URL [--dir D]\n");
    return 2;
}
