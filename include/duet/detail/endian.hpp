#pragma once

#include <cstddef>
#include <cstdint>

namespace duet::inline v0::detail {

// Little-endian load/store over raw bytes. Written as shifts rather than
// memcpy + byte swap so they are usable in constant expressions and never
// depend on alignment; g++ and clang fold each into one load or store on
// little-endian targets.

/// Reads a little-endian 16-bit value from `p[0..2)`.
[[nodiscard]] constexpr std::uint16_t load_le16(const std::byte* p) noexcept {
  return static_cast<std::uint16_t>(std::to_integer<std::uint16_t>(p[0]) |
                                    (std::to_integer<std::uint16_t>(p[1]) << 8));
}

/// Reads a little-endian 32-bit value from `p[0..4)`.
[[nodiscard]] constexpr std::uint32_t load_le32(const std::byte* p) noexcept {
  return std::to_integer<std::uint32_t>(p[0]) | (std::to_integer<std::uint32_t>(p[1]) << 8) |
         (std::to_integer<std::uint32_t>(p[2]) << 16) | (std::to_integer<std::uint32_t>(p[3]) << 24);
}

/// Reads a little-endian 64-bit value from `p[0..8)`.
[[nodiscard]] constexpr std::uint64_t load_le64(const std::byte* p) noexcept {
  return std::uint64_t{load_le32(p)} | (std::uint64_t{load_le32(p + 4)} << 32);
}

/// Writes `v` little-endian into `p[0..2)`.
constexpr void store_le16(std::byte* p, std::uint16_t v) noexcept {
  p[0] = static_cast<std::byte>(v & 0xffu);
  p[1] = static_cast<std::byte>(v >> 8);
}

/// Writes `v` little-endian into `p[0..4)`.
constexpr void store_le32(std::byte* p, std::uint32_t v) noexcept {
  p[0] = static_cast<std::byte>(v & 0xffu);
  p[1] = static_cast<std::byte>((v >> 8) & 0xffu);
  p[2] = static_cast<std::byte>((v >> 16) & 0xffu);
  p[3] = static_cast<std::byte>(v >> 24);
}

/// Writes `v` little-endian into `p[0..8)`.
constexpr void store_le64(std::byte* p, std::uint64_t v) noexcept {
  store_le32(p, static_cast<std::uint32_t>(v & 0xffffffffu));
  store_le32(p + 4, static_cast<std::uint32_t>(v >> 32));
}

}  // namespace duet::inline v0::detail
