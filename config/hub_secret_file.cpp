#include "config/hub_secret_file.hpp"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

namespace lsr::config {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t kSecretBytes = 32;
constexpr std::size_t kMaxFileBytes = 4096;

std::string errno_text(int e) {
    return std::strerror(e);
}

bool random_hex(std::string& out) {
    unsigned char bytes[kSecretBytes];
    std::size_t got = 0;
    while (got < sizeof bytes) {
        const ssize_t n = ::getrandom(bytes + got, sizeof bytes - got, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        got += static_cast<std::size_t>(n);
    }
    static constexpr char digits[] = "0123456789abcdef";
    out.clear();
    for (unsigned char b : bytes) {
        out += digits[b >> 4];
        out += digits[b & 0x0f];
    }
    return true;
}

bool write_all(int fd, const std::string& data) {
    std::size_t done = 0;
    while (done < data.size()) {
        const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        done += static_cast<std::size_t>(n);
    }
    return true;
}

void fsync_directory(const fs::path& dir) {
    const int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;
    ::fsync(fd);
    ::close(fd);
}

// Writes `content` to a new file `path` (O_EXCL, 0600) and fsyncs it. errno is kept on failure.
bool write_new_file(const std::string& path, const std::string& content) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) return false;
    const bool ok = write_all(fd, content) && ::fsync(fd) == 0;
    const int saved = errno;
    ::close(fd);
    if (!ok) {
        ::unlink(path.c_str());
        errno = saved;
    }
    return ok;
}

}  // namespace

std::string HubSecretOrigin::describe() const {
    switch (kind) {
        case Kind::environment:
            return "RELAY_HUB_SECRET";
        case Kind::config:
            return "hub.secret in the config file";
        case Kind::file:
            return file;
        case Kind::none:
            break;
    }
    return "none";
}

std::string HubSecretFile::path_for(const SpoolConfig& spool) {
    const fs::path parent = fs::path(spool.path).parent_path();
    return ((parent.empty() ? fs::path(".") : parent) / file_name).string();
}

bool HubSecretFile::well_formed(const std::string& secret) {
    return secret.size() == 2 * kSecretBytes &&
           secret.find_first_not_of("0123456789abcdefABCDEF") == std::string::npos;
}

std::optional<std::string> HubSecretFile::read(const std::string& path, std::string& error) {
    error.clear();
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        if (errno == ENOENT) return std::nullopt;
        error = "cannot read the hub secret file " + path + ": " + errno_text(errno);
        return std::nullopt;
    }
    std::string content;
    char buf[512];
    while (content.size() <= kMaxFileBytes) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            error = "cannot read the hub secret file " + path + ": " + errno_text(errno);
            ::close(fd);
            return std::nullopt;
        }
        if (n == 0) break;
        content.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    while (!content.empty() && (content.back() == '\n' || content.back() == '\r')) content.pop_back();
    if (!well_formed(content)) {
        error = "the hub secret file " + path +
                " does not hold a secret (64 hex characters expected). Fix or remove it (a new "
                "secret invalidates the tokens given to Looker), or set RELAY_HUB_SECRET";
        return std::nullopt;
    }
    return content;
}

std::optional<std::string> HubSecretFile::read_or_create(const std::string& path, bool& created,
                                                         std::string& error) {
    created = false;
    if (auto existing = read(path, error)) return existing;
    if (!error.empty()) return std::nullopt;

    const fs::path dir = fs::path(path).parent_path();
    if (!dir.empty()) {
        std::error_code ec;
        const mode_t old_mask = ::umask(077);
        fs::create_directories(dir, ec);
        ::umask(old_mask);
        if (ec) {
            error = "cannot create the directory of the hub secret file " + path + ": " + ec.message();
            return std::nullopt;
        }
    }
    std::string secret;
    if (!random_hex(secret)) {
        error = "cannot read random bytes for a hub secret: " + errno_text(errno);
        return std::nullopt;
    }
    // Written in full under a private name, then linked to its name: link() fails with EEXIST
    // when another process published first, and no reader ever sees a partial file.
    // A name of its own per call (pid and part of the new secret): racing processes or threads
    // never share a staging file.
    const std::string staging = path + ".new-" + std::to_string(::getpid()) + "-" + secret.substr(0, 16);
    if (!write_new_file(staging, secret + "\n")) {
        error = "cannot create the hub secret file " + path + ": " + errno_text(errno);
        return std::nullopt;
    }
    int link_errno = ::link(staging.c_str(), path.c_str()) == 0 ? 0 : errno;
    ::unlink(staging.c_str());
    if (link_errno == EPERM || link_errno == ENOTSUP || link_errno == EOPNOTSUPP) {
        // A filesystem without hard links: O_EXCL on the name itself.
        link_errno = write_new_file(path, secret + "\n") ? 0 : errno;
    }
    if (link_errno == EEXIST) return read(path, error);  // another process won the race
    if (link_errno != 0) {
        error = "cannot create the hub secret file " + path + ": " + errno_text(link_errno);
        return std::nullopt;
    }
    fsync_directory(dir);
    created = true;
    return secret;
}

bool HubSecretFile::resolve(Config& c, bool create, HubSecretOrigin& origin, std::string& error) {
    origin = HubSecretOrigin{};
    origin.file = path_for(c.spool);
    if (!c.hub.secret.empty()) {
        const char* env = std::getenv("RELAY_HUB_SECRET");
        origin.kind = (env && *env) ? HubSecretOrigin::Kind::environment : HubSecretOrigin::Kind::config;
        return true;
    }
    std::optional<std::string> secret =
        create ? read_or_create(origin.file, origin.created, error) : read(origin.file, error);
    if (!error.empty()) return false;
    if (secret) {
        c.hub.secret = *secret;
        origin.kind = HubSecretOrigin::Kind::file;
    }
    return true;
}

}  // namespace lsr::config
