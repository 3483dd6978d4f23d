#pragma once

#include <cstdint>
#include <string_view>

namespace duet::inline v0::detail {

/// FNV-1a, 32-bit, over the bytes of `s`: the native protocol's method id of
/// a method named `s` (docs/protocol.md lists test vectors).
///
/// Usable in constant expressions, so `method<"name", ...>::id` is computed
/// at compile time. The value is part of the wire format: it must never
/// change. Not a cryptographic hash; collisions are rejected by the router.
[[nodiscard]] constexpr std::uint32_t fnv1a_32(std::string_view s) noexcept {
  std::uint32_t h = 2166136261u;  // offset basis
  for (char c : s) {
    // Through unsigned char: a UTF-8 byte >= 0x80 must hash as its byte value,
    // not as a sign-extended negative char.
    h ^= static_cast<unsigned char>(c);
    h *= 16777619u;  // FNV prime; unsigned arithmetic wraps modulo 2^32
  }
  return h;
}

}  // namespace duet::inline v0::detail
