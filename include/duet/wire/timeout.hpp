#pragma once

#include <duet/config.hpp>

#include <duet/loop/deadline.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace duet::inline v0::detail {

/// The reserved metadata key that carries a request's deadline as the time
/// left when it was sent, in whole microseconds, as decimal ASCII digits
/// (docs/protocol.md section 7.1). Relative, because the peers' clocks differ.
inline constexpr std::string_view timeout_key = "duet-timeout";

/// Room for the decimal digits of any 64-bit value.
inline constexpr std::size_t timeout_value_capacity = 20;

/// Writes the `duet-timeout` value for a call due at `deadline` into
/// `digits`: the time left, rounded up to whole microseconds. Returns the
/// value, or nothing when the deadline has already passed (the request is not
/// worth sending).
[[nodiscard]] DUET_INLINE std::optional<std::string_view> timeout_value(time_point deadline, time_point now,
                                                                       char (&digits)[timeout_value_capacity]) noexcept;

/// Reads a `duet-timeout` value: 1 to 20 decimal digits. False when it is
/// not one; `out` is then untouched.
[[nodiscard]] DUET_INLINE bool parse_timeout_value(std::string_view value, std::uint64_t& out) noexcept;

/// The deadline of a request that arrived at `now` with `duet-timeout`
/// `microseconds`. A time too far ahead to represent means no deadline.
[[nodiscard]] DUET_INLINE std::optional<time_point> deadline_from_timeout(std::uint64_t microseconds,
                                                                         time_point now) noexcept;

}  // namespace duet::inline v0::detail

// ------------------------------------------------------------ definitions ---
// Inline in every translation unit, or compiled once by <duet/src.hpp> when
// DUET_SEPARATE_COMPILATION is defined (see <duet/config.hpp>).
#if DUET_HEADER_DEFINITIONS
namespace duet::inline v0::detail {

DUET_INLINE std::optional<std::string_view> timeout_value(time_point deadline, time_point now,
                                                         char (&digits)[timeout_value_capacity]) noexcept {
  if (deadline <= now) return std::nullopt;
  auto left = static_cast<std::uint64_t>(std::chrono::ceil<std::chrono::microseconds>(deadline - now).count());
  // Written backwards from the end (20 digits hold any 64-bit value), then
  // moved to the front. Not <charconv>: every user of a session would parse it.
  std::size_t at = timeout_value_capacity;
  do {
    digits[--at] = static_cast<char>('0' + left % 10);
    left /= 10;
  } while (left != 0);
  const std::size_t length = timeout_value_capacity - at;
  for (std::size_t i = 0; i < length; ++i) digits[i] = digits[at + i];
  return std::string_view(digits, length);
}

DUET_INLINE bool parse_timeout_value(std::string_view value, std::uint64_t& out) noexcept {
  if (value.empty() || value.size() > timeout_value_capacity) return false;
  std::uint64_t v = 0;
  for (const char c : value) {
    if (c < '0' || c > '9') return false;
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (v > (~std::uint64_t{0} - digit) / 10) return false;  // more than 64 bits hold
    v = v * 10 + digit;
  }
  out = v;
  return true;
}

DUET_INLINE std::optional<time_point> deadline_from_timeout(std::uint64_t microseconds, time_point now) noexcept {
  using us = std::chrono::microseconds;
  const auto limit = std::chrono::duration_cast<us>(time_point::max() - now).count();
  if (limit <= 0 || microseconds >= static_cast<std::uint64_t>(limit)) return std::nullopt;
  return now + std::chrono::duration_cast<duration>(us(static_cast<us::rep>(microseconds)));
}

}  // namespace duet::inline v0::detail
#endif
