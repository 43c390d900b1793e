// Identifiers the relay derives instead of drawing at random, so the same input always
// gives the same event: the deterministic messageId (Segment deduplicates on it, across
// all its customers, hence the "lsr-" namespace) and the anonymousId derived from an
// email (the same person lands on the same profile on every run). Also the hub's
// md5-based messageId prefix. SHA-256, SHA-1 and MD5 come from OpenSSL.
#pragma once

#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>

namespace lsr::core {

class MessageId {
  public:
    MessageId();
    ~MessageId();
    MessageId(const MessageId&) = delete;
    MessageId& operator=(const MessageId&) = delete;

    // "lsr-" + 32 hex digits: the first 128 bits of SHA-256 over the parts, each
    // length-prefixed so ("ab","c") and ("a","bc") differ. 36 characters.
    std::string deterministic(std::initializer_list<std::string_view> parts);
    void deterministic(std::initializer_list<std::string_view> parts, std::string& out);  // reuses out

    // UUID version 5 (RFC 4122, SHA-1) of the normalized email (trimmed, lower-cased)
    // in the relay's own namespace.
    static std::string email_uuid(std::string_view email);
    // UUID version 5 of `name` in the 16-byte namespace (RFC 4122 §4.3).
    static std::string uuid_v5(const unsigned char* namespace_id, std::string_view name);
    static std::string normalize_email(std::string_view email);

    // The hub's analytics-node messageId: "node-" + md5(message JSON) + "-" + uuid.
    static std::string md5_hex(std::string_view data);
    static std::string md5_hex(std::initializer_list<std::string_view> parts);  // of the concatenation
    // The same 32 hex digits appended to `out`, through a context this object keeps: no
    // allocation once `out` has room.
    void append_md5_hex(std::initializer_list<std::string_view> parts, std::string& out);

    // A UUID v4 text from 128 random bits.
    static std::string uuid_v4(std::uint64_t high, std::uint64_t low);
    static void append_uuid_v4(std::uint64_t high, std::uint64_t low, std::string& out);  // 36 characters

  private:
    struct Digest;
    std::unique_ptr<Digest> sha256_;
    std::unique_ptr<Digest> md5_;  // made on first use
};

}  // namespace lsr::core
