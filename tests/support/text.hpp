#pragma once

#include <cstddef>
#include <span>
#include <string_view>

namespace duet_test {

/// The bytes of `s` (no terminator), viewed in place: `s` must outlive them.
inline std::span<const std::byte> text(std::string_view s) {
  return std::as_bytes(std::span<const char>(s.data(), s.size()));
}

}  // namespace duet_test
