// AES-CBC with a zero IV and no padding (DC-09 pads the plaintext itself), via
// OpenSSL's EVP interface. Key length picks AES-128, -192 or -256.
#pragma once

#include <string>
#include <string_view>

#include "eg/common/result.hpp"
#include "eg/dc09/frame.hpp"

namespace eg::dc09 {

// `plain` must be a whole number of 16-byte blocks.
std::string aes_cbc_encrypt(const Key& key, std::string_view plain);
Result<std::string> aes_cbc_decrypt(const Key& key, std::string_view cipher);

std::string to_hex_upper(std::string_view bytes);
Result<std::string> from_hex(std::string_view hex);  // either case

}  // namespace eg::dc09
