#include "core/mapping/message_id.hpp"

#include <catch2/catch.hpp>

using lsr::core::MessageId;

TEST_CASE("message id: UUID v5 as RFC 4122 computes it", "[ids]") {
    // The DNS namespace and "www.example.com": the well-known v5 value.
    const unsigned char dns[16] = {0x6b, 0xa7, 0xb8, 0x10, 0x9d, 0xad, 0x11, 0xd1,
                                   0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8};
    CHECK(MessageId::uuid_v5(dns, "www.example.com") == "2ed6657d-e927-568b-95e1-2665a8aea6a2");
}

TEST_CASE("message id: the email-derived anonymousId ignores case and surrounding blanks", "[ids]") {
    const std::string a = MessageId::email_uuid("Ty.Arthur@Segment.com ");
    CHECK(a == MessageId::email_uuid("ty.arthur@segment.com"));
    CHECK(a != MessageId::email_uuid("ty.arthur2@segment.com"));
    CHECK(a.size() == 36);
    CHECK(a[14] == '5');
    CHECK((a[19] == '8' || a[19] == '9' || a[19] == 'a' || a[19] == 'b'));
    CHECK(MessageId::normalize_email("\tA@B.C ") == "a@b.c");
}

TEST_CASE("message id: deterministic ids are namespaced, short and separate their parts", "[ids]") {
    MessageId ids;
    const std::string x = ids.deterministic({"42", "run", "identify", "", "u1"});
    CHECK(x == ids.deterministic({"42", "run", "identify", "", "u1"}));
    CHECK(x.rfind("lsr-", 0) == 0);
    CHECK(x.size() == 36);
    CHECK(ids.deterministic({"ab", "c"}) != ids.deterministic({"a", "bc"}));
    std::string reused = "previous";
    ids.deterministic({"42", "run", "identify", "", "u1"}, reused);
    CHECK(reused == x);
}

TEST_CASE("message id: md5 and uuid v4 texts", "[ids]") {
    CHECK(MessageId::md5_hex("") == "d41d8cd98f00b204e9800998ecf8427e");
    CHECK(MessageId::md5_hex({"a", "bc"}) == MessageId::md5_hex("abc"));
    const std::string u = MessageId::uuid_v4(0, 0);
    CHECK(u == "00000000-0000-4000-8000-000000000000");
}
