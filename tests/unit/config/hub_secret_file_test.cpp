#include "config/hub_secret_file.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

using lsr::config::Config;
using lsr::config::HubSecretFile;
using lsr::config::HubSecretOrigin;

namespace fs = std::filesystem;

namespace {

struct TempDir {
    fs::path path;
    TempDir() {
        char tmpl[] = "/tmp/lsr-secret-XXXXXX";
        path = ::mkdtemp(tmpl);
    }
    ~TempDir() {
        std::error_code ec;
        fs::permissions(path, fs::perms::owner_all, ec);
        fs::remove_all(path, ec);
    }
};

std::string slurp(const fs::path& p) {
    std::ifstream in(p);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

void write(const fs::path& p, const std::string& s) {
    std::ofstream(p) << s;
}

struct NoEnvSecret {  // RELAY_HUB_SECRET unset for the test, restored after
    std::string saved;
    bool had = false;
    NoEnvSecret() {
        if (const char* v = std::getenv("RELAY_HUB_SECRET")) {
            had = true;
            saved = v;
        }
        ::unsetenv("RELAY_HUB_SECRET");
    }
    ~NoEnvSecret() {
        if (had) ::setenv("RELAY_HUB_SECRET", saved.c_str(), 1);
    }
};

}  // namespace

TEST_CASE("the secret file lives beside the spool") {
    lsr::config::SpoolConfig s;
    s.path = "/data/relay/spool.db";
    CHECK(HubSecretFile::path_for(s) == "/data/relay/hub-secret");
    s.path = "./var/spool.db";
    CHECK(HubSecretFile::path_for(s) == "./var/hub-secret");
    s.path = "spool.db";
    CHECK(HubSecretFile::path_for(s) == "./hub-secret");
}

TEST_CASE("read_or_create makes a 0600 file with 32 random bytes in hex, then reads it back") {
    TempDir dir;
    const std::string path = (dir.path / "sub" / "hub-secret").string();
    std::string error;
    bool created = false;
    const auto first = HubSecretFile::read_or_create(path, created, error);
    REQUIRE(first);
    CHECK(error.empty());
    CHECK(created);
    CHECK(HubSecretFile::well_formed(*first));
    CHECK(slurp(path) == *first + "\n");
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    REQUIRE(::stat((dir.path / "sub").c_str(), &st) == 0);
    CHECK((st.st_mode & 0077) == 0);
    // No staging file is left behind.
    CHECK(std::distance(fs::directory_iterator(dir.path / "sub"), fs::directory_iterator()) == 1);

    const auto second = HubSecretFile::read_or_create(path, created, error);
    REQUIRE(second);
    CHECK_FALSE(created);
    CHECK(*second == *first);

    TempDir other;
    const auto third = HubSecretFile::read_or_create((other.path / "hub-secret").string(), created, error);
    REQUIRE(third);
    CHECK(*third != *first);
}

TEST_CASE("a missing file reads as absent, without an error and without creating it") {
    TempDir dir;
    std::string error = "stale";
    CHECK_FALSE(HubSecretFile::read((dir.path / "hub-secret").string(), error));
    CHECK(error.empty());
    CHECK_FALSE(fs::exists(dir.path / "hub-secret"));
}

TEST_CASE("a malformed file is an error naming it, and is never replaced") {
    TempDir dir;
    const auto path = dir.path / "hub-secret";
    for (const std::string& content : {std::string(), std::string("not hex at all\n"), std::string(63, 'a'),
                                       std::string(65, 'a'), std::string(64, 'g')}) {
        write(path, content);
        std::string error;
        bool created = true;
        CHECK_FALSE(HubSecretFile::read_or_create(path.string(), created, error));
        CHECK(error.find(path.string()) != std::string::npos);
        CHECK_FALSE(created);
        CHECK(slurp(path) == content);
    }
}

TEST_CASE("an unreadable file is an error naming it") {
    if (::geteuid() == 0) return;  // root reads anything; covered by the directory case below
    TempDir dir;
    const auto path = dir.path / "hub-secret";
    write(path, std::string(64, 'a'));
    fs::permissions(path, fs::perms::none);
    std::string error;
    CHECK_FALSE(HubSecretFile::read(path.string(), error));
    CHECK(error.find(path.string()) != std::string::npos);
}

TEST_CASE("a directory in the secret file's place is an error naming it") {
    TempDir dir;
    const auto path = dir.path / "hub-secret";
    fs::create_directory(path);
    std::string error;
    bool created = false;
    CHECK_FALSE(HubSecretFile::read_or_create(path.string(), created, error));
    CHECK(error.find(path.string()) != std::string::npos);
    CHECK(fs::is_directory(path));
}

TEST_CASE("resolve: the config's or the environment's secret wins and the file is not touched") {
    NoEnvSecret no_env;
    TempDir dir;
    Config c;
    c.spool.path = (dir.path / "spool.db").string();
    c.hub.secret = "from-config";
    HubSecretOrigin origin;
    std::string error;
    REQUIRE(HubSecretFile::resolve(c, true, origin, error));
    CHECK(origin.kind == HubSecretOrigin::Kind::config);
    CHECK(c.hub.secret == "from-config");
    CHECK_FALSE(fs::exists(dir.path / "hub-secret"));

    ::setenv("RELAY_HUB_SECRET", "from-env", 1);
    c.hub.secret = "from-env";  // as the loader leaves it
    REQUIRE(HubSecretFile::resolve(c, true, origin, error));
    CHECK(origin.kind == HubSecretOrigin::Kind::environment);
    CHECK_FALSE(fs::exists(dir.path / "hub-secret"));
    ::unsetenv("RELAY_HUB_SECRET");

    // Even a malformed file is left alone when a secret is configured.
    write(dir.path / "hub-secret", "junk");
    REQUIRE(HubSecretFile::resolve(c, true, origin, error));
    CHECK(slurp(dir.path / "hub-secret") == "junk");
}

TEST_CASE("resolve: serve creates the file, token only reads it") {
    NoEnvSecret no_env;
    TempDir dir;
    Config reader;
    reader.spool.path = (dir.path / "spool.db").string();
    HubSecretOrigin origin;
    std::string error;
    REQUIRE(HubSecretFile::resolve(reader, false, origin, error));
    CHECK(origin.kind == HubSecretOrigin::Kind::none);
    CHECK(origin.file == (dir.path / "hub-secret").string());
    CHECK(reader.hub.secret.empty());
    CHECK_FALSE(fs::exists(dir.path / "hub-secret"));

    Config server = reader;
    REQUIRE(HubSecretFile::resolve(server, true, origin, error));
    CHECK(origin.kind == HubSecretOrigin::Kind::file);
    CHECK(origin.created);
    CHECK(HubSecretFile::well_formed(server.hub.secret));

    REQUIRE(HubSecretFile::resolve(reader, false, origin, error));
    CHECK(origin.kind == HubSecretOrigin::Kind::file);
    CHECK_FALSE(origin.created);
    CHECK(reader.hub.secret == server.hub.secret);

    write(dir.path / "hub-secret", "junk\n");
    Config broken;
    broken.spool.path = reader.spool.path;
    CHECK_FALSE(HubSecretFile::resolve(broken, true, origin, error));
    CHECK(error.find("hub-secret") != std::string::npos);
}

TEST_CASE("racing creators all end up with the one secret that was published first") {
    for (int round = 0; round < 20; ++round) {
        TempDir dir;
        const std::string path = (dir.path / "hub-secret").string();
        std::mutex m;
        std::set<std::string> secrets;
        int creators = 0;
        std::vector<std::string> errors;
        std::vector<std::thread> threads;
        for (int i = 0; i < 6; ++i) {
            threads.emplace_back([&] {
                std::string error;
                bool created = false;
                const auto secret = HubSecretFile::read_or_create(path, created, error);
                std::lock_guard<std::mutex> lock(m);
                if (secret) secrets.insert(*secret);
                if (created) ++creators;
                if (!error.empty()) errors.push_back(error);
            });
        }
        for (auto& t : threads) t.join();
        INFO((errors.empty() ? std::string() : errors.front()));
        CHECK(errors.empty());
        CHECK(secrets.size() == 1);
        CHECK(creators == 1);
        CHECK(slurp(path) == *secrets.begin() + "\n");
        CHECK(std::distance(fs::directory_iterator(dir.path), fs::directory_iterator()) == 1);
    }
}
