// Action Hub authentication: `Authorization: Token token="<token>"` (also `token token=`),
// where <token> is either signed by the hub secret (`<nonce>/<hex HMAC-SHA512(secret, nonce)>`)
// or one of the configured tokens. Every comparison is constant-time; no input ever throws.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lsr::core {

class HubToken {
  public:
    HubToken(std::string secret, std::vector<std::string> configured_tokens);

    // The token inside an Authorization header value, or nullopt when the form is wrong.
    static std::optional<std::string_view> from_authorization(std::string_view header_value);
    // Lower-case hex HMAC-SHA512(secret, nonce): 128 characters.
    static std::string sign(std::string_view secret, std::string_view nonce);
    // A new signed token with a random 32-byte nonce (64 hex characters); empty on RNG failure.
    static std::string make_token(std::string_view secret);

    bool verify(std::string_view token) const;  // signed or configured
    bool verify_authorization(std::string_view header_value) const;
    bool can_verify_signed() const { return !secret_.empty(); }

    // Constant-time equality of two strings of any lengths (the lengths are not leaked either).
    static bool constant_time_equal(std::string_view a, std::string_view b);

  private:
    std::string secret_;
    std::vector<std::string> tokens_;
};

}  // namespace lsr::core
