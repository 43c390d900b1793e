#include "core/hub/hub_token.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <array>

namespace lsr::core {

namespace {

constexpr std::size_t kDigestHexChars = 128;  // SHA-512
constexpr std::size_t kNonceBytes = 32;

std::string to_hex(const unsigned char* data, std::size_t n) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.resize(n * 2);
    for (std::size_t i = 0; i < n; ++i) {
        out[2 * i] = digits[data[i] >> 4];
        out[2 * i + 1] = digits[data[i] & 0x0f];
    }
    return out;
}

std::array<unsigned char, SHA256_DIGEST_LENGTH> sha256(std::string_view s) {
    std::array<unsigned char, SHA256_DIGEST_LENGTH> out{};
    unsigned int len = 0;
    EVP_Digest(s.data(), s.size(), out.data(), &len, EVP_sha256(), nullptr);
    return out;
}

}  // namespace

HubToken::HubToken(std::string secret, std::vector<std::string> configured_tokens)
    : secret_(std::move(secret)), tokens_(std::move(configured_tokens)) {}

std::optional<std::string_view> HubToken::from_authorization(std::string_view v) {
    // As the hub's pattern `[T|t]oken token="(.*)"`: anywhere in the value, the capture running
    // greedily up to the last double quote.
    constexpr std::string_view marker = "oken token=\"";
    std::size_t from = 0;
    while (true) {
        auto pos = v.find(marker, from);
        if (pos == std::string_view::npos) return std::nullopt;
        if (pos > 0 && (v[pos - 1] == 'T' || v[pos - 1] == 't' || v[pos - 1] == '|')) {
            auto start = pos + marker.size();
            auto end = v.rfind('"');
            if (end == std::string_view::npos || end < start) return std::nullopt;
            return v.substr(start, end - start);
        }
        from = pos + 1;
    }
}

std::string HubToken::sign(std::string_view secret, std::string_view nonce) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (HMAC(EVP_sha512(), secret.data(), static_cast<int>(secret.size()),
             reinterpret_cast<const unsigned char*>(nonce.data()), nonce.size(), md, &len) == nullptr) {
        return {};
    }
    return to_hex(md, len);
}

std::string HubToken::make_token(std::string_view secret) {
    std::array<unsigned char, kNonceBytes> raw{};
    if (RAND_bytes(raw.data(), static_cast<int>(raw.size())) != 1) return {};
    std::string nonce = to_hex(raw.data(), raw.size());
    std::string digest = sign(secret, nonce);
    if (digest.empty()) return {};
    return nonce + "/" + digest;
}

bool HubToken::constant_time_equal(std::string_view a, std::string_view b) {
    auto ha = sha256(a);
    auto hb = sha256(b);
    return CRYPTO_memcmp(ha.data(), hb.data(), ha.size()) == 0;
}

bool HubToken::verify(std::string_view token) const {
    bool ok = false;
    for (const auto& t : tokens_) {
        // Every configured token is compared, whatever matched before.
        if (!t.empty() && constant_time_equal(token, t)) ok = true;
    }
    if (!secret_.empty()) {
        auto slash = token.find('/');
        if (slash != std::string_view::npos && slash > 0) {
            auto nonce = token.substr(0, slash);
            auto digest = token.substr(slash + 1);
            std::string expected = sign(secret_, nonce);
            if (digest.size() == kDigestHexChars && expected.size() == kDigestHexChars &&
                CRYPTO_memcmp(digest.data(), expected.data(), kDigestHexChars) == 0) {
                ok = true;
            }
        }
    }
    return ok;
}

bool HubToken::verify_authorization(std::string_view header_value) const {
    auto token = from_authorization(header_value);
    return token && verify(*token);
}

}  // namespace lsr::core
