#include "server/storage/spool_file.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace lsr::server {

namespace {

namespace fs = std::filesystem;

std::string utc_stamp(std::int64_t now_ms) {
    const auto t = static_cast<std::time_t>(now_ms / 1000);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
    return buf;
}

}  // namespace

std::string SpoolFile::corrupt_message(const std::string& path, const std::string& detail,
                                       std::int64_t now_ms) {
    const std::string aside = path + ".corrupt-" + utc_stamp(now_ms);
    return "spool " + path + " is not a usable spool database: " + detail +
           ". The relay will not start on it. Way out: stop the relay and move the file aside "
           "(with its -wal and -shm files if present): mv " +
           path + " " + aside + "; the relay then starts with an empty spool; `looker-segment-relay spool " +
           "salvage --from " + aside + " --to " + path + "` copies every readable batch and dead letter " +
           "into the new spool.";
}

std::optional<SpoolOpenFailure> SpoolFile::create_parent(const std::string& path) {
    const fs::path parent = fs::path(path).parent_path();
    if (parent.empty()) return std::nullopt;
    std::error_code fec;
    const mode_t old_mask = ::umask(077);
    fs::create_directories(parent, fec);
    ::umask(old_mask);
    if (fec) {
        return SpoolOpenFailure{
            SpoolErrc::io, "cannot create the spool directory " + parent.string() + ": " + fec.message()};
    }
    return std::nullopt;
}

std::optional<SpoolOpenFailure> SpoolFile::precheck(const std::string& path, bool create, std::int64_t now_ms,
                                                    bool* is_new) {
    std::error_code fec;
    const fs::path p(path);
    const auto status = fs::status(p, fec);
    if (fec && fec != std::errc::no_such_file_or_directory) {
        return SpoolOpenFailure{SpoolErrc::io, "cannot access spool " + path + ": " + fec.message()};
    }
    if (!fs::exists(status)) {
        if (!create)
            return SpoolOpenFailure{SpoolErrc::not_found, "no spool at " + path + " (file does not exist)"};
        *is_new = true;
        return std::nullopt;
    }
    if (!fs::is_regular_file(status)) {
        return SpoolOpenFailure{SpoolErrc::io, "spool path " + path + " exists but is not a regular file"};
    }
    const auto size = fs::file_size(p, fec);
    if (fec)
        return SpoolOpenFailure{SpoolErrc::io,
                                "cannot read the size of spool " + path + ": " + fec.message()};
    if (size == 0) {
        const auto wal_size = fs::file_size(path + "-wal", fec);
        if (!fec && wal_size > 0) {
            return SpoolOpenFailure{
                SpoolErrc::corrupt,
                corrupt_message(path, "the file is empty but its -wal file is not (truncated)", now_ms)};
        }
        *is_new = true;  // an empty file holds nothing: start a new spool in it
        return std::nullopt;
    }
    std::ifstream in(p, std::ios::binary);
    if (!in) return SpoolOpenFailure{SpoolErrc::io, "cannot open spool " + path + " for reading"};
    char header[16] = {};
    in.read(header, sizeof header);
    static constexpr char kMagic[16] = {'S', 'Q', 'L', 'i', 't', 'e', ' ', 'f',
                                        'o', 'r', 'm', 'a', 't', ' ', '3', '\0'};
    if (in.gcount() < static_cast<std::streamsize>(sizeof header) ||
        !std::equal(std::begin(kMagic), std::end(kMagic), header)) {
        return SpoolOpenFailure{
            SpoolErrc::corrupt,
            corrupt_message(path, "it does not start with the SQLite header (not a database, or overwritten)",
                            now_ms)};
    }
    if (size < 512) {
        return SpoolOpenFailure{
            SpoolErrc::corrupt,
            corrupt_message(path, "it is truncated (" + std::to_string(size) + " bytes)", now_ms)};
    }
    return std::nullopt;
}

std::optional<SpoolOpenFailure> SpoolFile::restrict_permissions(const std::string& path) {
    for (const char* suffix : {"", "-wal", "-shm"}) {
        const std::string file = path + suffix;
        struct stat st {};
        if (::stat(file.c_str(), &st) != 0) continue;
        if ((st.st_mode & 0777) == 0600) continue;
        if (::chmod(file.c_str(), 0600) != 0 && (st.st_mode & 077) != 0) {
            return SpoolOpenFailure{SpoolErrc::io, "cannot restrict spool file " + file +
                                                       " to its owner (chmod 0600 failed); it must not be "
                                                       "readable by others"};
        }
    }
    return std::nullopt;
}

}  // namespace lsr::server
