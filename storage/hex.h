// Lower-case hexadecimal of bytes: object ids, fingerprints, random names. The one encoder.
// Thread-safety: a pure function.
#pragma once

#include <cstddef>
#include <string>

namespace taskfs::storage {

inline std::string Hex(const void* data, size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  const auto* bytes = static_cast<const unsigned char*>(data);
  std::string out;
  out.reserve(2 * size);
  for (size_t i = 0; i < size; ++i) {
    out += kDigits[bytes[i] >> 4];
    out += kDigits[bytes[i] & 0xf];
  }
  return out;
}

}  // namespace taskfs::storage
