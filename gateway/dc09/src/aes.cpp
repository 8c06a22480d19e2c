#include "aes.hpp"

#include <openssl/evp.h>

#include <memory>
#include <stdexcept>

namespace eg::dc09 {
namespace {

struct CipherContextFree {
  void operator()(EVP_CIPHER_CTX* context) const { EVP_CIPHER_CTX_free(context); }
};
using CipherContext = std::unique_ptr<EVP_CIPHER_CTX, CipherContextFree>;

const EVP_CIPHER* cipher_for(const Key& key) {
  switch (key.size()) {
    case 16:
      return EVP_aes_128_cbc();
    case 24:
      return EVP_aes_192_cbc();
    case 32:
      return EVP_aes_256_cbc();
    default:
      return nullptr;
  }
}

Result<std::string> run(const Key& key, std::string_view input, bool encrypt) {
  const EVP_CIPHER* cipher = cipher_for(key);
  if (cipher == nullptr) return make_error("AES key must be 16, 24 or 32 bytes");
  if (input.size() % 16 != 0) return make_error("AES-CBC input is not a whole number of 16-byte blocks");
  CipherContext context(EVP_CIPHER_CTX_new());
  if (!context) throw std::bad_alloc();
  const unsigned char iv[16] = {};
  if (EVP_CipherInit_ex(context.get(), cipher, nullptr, key.data(), iv, encrypt ? 1 : 0) != 1)
    return make_error("AES initialisation failed");
  EVP_CIPHER_CTX_set_padding(context.get(), 0);
  std::string output(input.size() + 16, '\0');
  int written = 0, tail = 0;
  auto* out = reinterpret_cast<unsigned char*>(output.data());
  if (EVP_CipherUpdate(context.get(), out, &written, reinterpret_cast<const unsigned char*>(input.data()),
                       static_cast<int>(input.size())) != 1 ||
      EVP_CipherFinal_ex(context.get(), out + written, &tail) != 1)
    return make_error("AES-CBC failed");
  output.resize(static_cast<std::size_t>(written + tail));
  return output;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string aes_cbc_encrypt(const Key& key, std::string_view plain) {
  auto result = run(key, plain, true);
  if (!result) throw std::invalid_argument(result.error().reason);  // a caller bug: keys are checked at load
  return std::move(result).value();
}

Result<std::string> aes_cbc_decrypt(const Key& key, std::string_view cipher) {
  return run(key, cipher, false);
}

std::string to_hex_upper(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string hex;
  hex.reserve(bytes.size() * 2);
  for (unsigned char byte : bytes) {
    hex.push_back(kDigits[byte >> 4]);
    hex.push_back(kDigits[byte & 0xF]);
  }
  return hex;
}

Result<std::string> from_hex(std::string_view hex) {
  if (hex.size() % 2 != 0) return make_error("odd number of hex digits");
  std::string bytes;
  bytes.reserve(hex.size() / 2);
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    int high = hex_value(hex[i]), low = hex_value(hex[i + 1]);
    if (high < 0 || low < 0) return make_error("not a hex digit at " + std::to_string(i));
    bytes.push_back(static_cast<char>(high * 16 + low));
  }
  return bytes;
}

}  // namespace eg::dc09
