#include "core/mapping/message_id.hpp"

#include <openssl/evp.h>

#include <array>
#include <cstdint>

namespace lsr::core {
namespace {

// The relay's UUID v5 namespace (itself a random UUID, fixed forever: changing it would
// move every email-derived profile).
constexpr std::array<unsigned char, 16> kEmailNamespace = {0x3b, 0x1e, 0x7c, 0x52, 0x9a, 0x04, 0x4f, 0x6d,
                                                           0xb2, 0x8e, 0x51, 0xc7, 0x0d, 0x93, 0x6a, 0x2f};

constexpr const char* kHex = "0123456789abcdef";

void append_hex(std::string& out, const unsigned char* bytes, std::size_t n) {
    char text[2 * EVP_MAX_MD_SIZE];
    for (std::size_t i = 0; i < n; ++i) {
        text[2 * i] = kHex[bytes[i] >> 4];
        text[2 * i + 1] = kHex[bytes[i] & 15];
    }
    out.append(text, 2 * n);
}

void append_uuid_text(const unsigned char* b, std::string& out) {
    char text[36];
    char* p = text;
    for (int i = 0; i < 16; ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) *p++ = '-';
        *p++ = kHex[b[i] >> 4];
        *p++ = kHex[b[i] & 15];
    }
    out.append(text, sizeof text);
}

std::string uuid_text(const unsigned char* b) {
    std::string out;
    out.reserve(36);
    append_uuid_text(b, out);
    return out;
}

// Implementations fetched once: a lookup by name takes a lock inside OpenSSL on every call.
const EVP_MD* digest(const char* algorithm) {
    static EVP_MD* const md5 = EVP_MD_fetch(nullptr, "MD5", nullptr);
    static EVP_MD* const sha1 = EVP_MD_fetch(nullptr, "SHA1", nullptr);
    return std::string_view(algorithm) == "MD5" ? md5 : sha1;
}

void one_shot(const char* algorithm, std::initializer_list<std::string_view> parts, unsigned& len,
              unsigned char* md) {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, digest(algorithm), nullptr);
    for (std::string_view p : parts) EVP_DigestUpdate(ctx, p.data(), p.size());
    EVP_DigestFinal_ex(ctx, md, &len);
    EVP_MD_CTX_free(ctx);
}

}  // namespace

struct MessageId::Digest {
    // Fetched once: EVP_sha256() would look the implementation up, under a lock, per row.
    explicit Digest(const char* algorithm)
        : ctx(EVP_MD_CTX_new()), md(EVP_MD_fetch(nullptr, algorithm, nullptr)) {}
    ~Digest() {
        EVP_MD_CTX_free(ctx);
        EVP_MD_free(md);
    }
    EVP_MD_CTX* ctx;
    EVP_MD* md;
};

MessageId::MessageId() : sha256_(std::make_unique<Digest>("SHA256")) {}
MessageId::~MessageId() = default;

std::string MessageId::deterministic(std::initializer_list<std::string_view> parts) {
    std::string out;
    deterministic(parts, out);
    return out;
}

void MessageId::deterministic(std::initializer_list<std::string_view> parts, std::string& out) {
    EVP_DigestInit_ex(sha256_->ctx, sha256_->md, nullptr);
    for (std::string_view p : parts) {
        const std::uint64_t n = p.size();
        unsigned char len[8];
        for (int i = 0; i < 8; ++i) len[i] = static_cast<unsigned char>(n >> (8 * i));
        EVP_DigestUpdate(sha256_->ctx, len, sizeof len);
        EVP_DigestUpdate(sha256_->ctx, p.data(), p.size());
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    EVP_DigestFinal_ex(sha256_->ctx, md, &len);
    out.assign("lsr-");
    append_hex(out, md, 16);
}

std::string MessageId::normalize_email(std::string_view email) {
    while (!email.empty() && (email.front() == ' ' || email.front() == '\t')) email.remove_prefix(1);
    while (!email.empty() && (email.back() == ' ' || email.back() == '\t')) email.remove_suffix(1);
    std::string out(email);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

std::string MessageId::email_uuid(std::string_view email) {
    return uuid_v5(kEmailNamespace.data(), normalize_email(email));
}

std::string MessageId::uuid_v5(const unsigned char* namespace_id, std::string_view name) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    one_shot("SHA1", {std::string_view(reinterpret_cast<const char*>(namespace_id), 16), name}, len, md);
    md[6] = static_cast<unsigned char>((md[6] & 0x0F) | 0x50);  // version 5
    md[8] = static_cast<unsigned char>((md[8] & 0x3F) | 0x80);  // RFC 4122 variant
    return uuid_text(md);
}

std::string MessageId::md5_hex(std::string_view data) {
    return md5_hex({data});
}

std::string MessageId::md5_hex(std::initializer_list<std::string_view> parts) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    one_shot("MD5", parts, len, md);
    std::string out;
    append_hex(out, md, len);
    return out;
}

void MessageId::append_md5_hex(std::initializer_list<std::string_view> parts, std::string& out) {
    if (!md5_) md5_ = std::make_unique<Digest>("MD5");
    EVP_DigestInit_ex(md5_->ctx, md5_->md, nullptr);
    for (std::string_view p : parts) EVP_DigestUpdate(md5_->ctx, p.data(), p.size());
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    EVP_DigestFinal_ex(md5_->ctx, md, &len);
    append_hex(out, md, len);
}

void MessageId::append_uuid_v4(std::uint64_t high, std::uint64_t low, std::string& out) {
    unsigned char b[16];
    for (int i = 0; i < 8; ++i) {
        b[i] = static_cast<unsigned char>(high >> (56 - 8 * i));
        b[8 + i] = static_cast<unsigned char>(low >> (56 - 8 * i));
    }
    b[6] = static_cast<unsigned char>((b[6] & 0x0F) | 0x40);
    b[8] = static_cast<unsigned char>((b[8] & 0x3F) | 0x80);
    append_uuid_text(b, out);
}

std::string MessageId::uuid_v4(std::uint64_t high, std::uint64_t low) {
    std::string out;
    out.reserve(36);
    append_uuid_v4(high, low, out);
    return out;
}

}  // namespace lsr::core
