#pragma once

#include <duet/config.hpp>

#include <duet/loop/deadline.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>

namespace duet::inline v0 {

/// Growing waits between repeated tries (a client reconnecting, a call
/// retried): the n-th consecutive failure waits `initial * multiplier^(n-1)`,
/// at most `max`, scaled by a random factor in [1 - jitter, 1 + jitter] so
/// that many clients that failed together do not come back in step.
struct backoff_policy {
  duration initial = std::chrono::milliseconds(100);
  duration max = std::chrono::seconds(10);
  double multiplier = 2.0;
  double jitter = 0.2;

  /// The wait after `failures` (>= 1) consecutive failures, with
  /// `unit_random` in [0, 1) choosing the jitter.
  [[nodiscard]] duration delay(std::uint32_t failures, double unit_random) const noexcept;
};

}  // namespace duet::inline v0

// ------------------------------------------------------------ definitions ---
// Inline in every translation unit, or compiled once by <duet/src.hpp> when
// DUET_SEPARATE_COMPILATION is defined (see <duet/config.hpp>).
#if DUET_HEADER_DEFINITIONS
namespace duet::inline v0 {

DUET_INLINE duration backoff_policy::delay(std::uint32_t failures, double unit_random) const noexcept {
  using seconds = std::chrono::duration<double>;
  const double cap = std::max(seconds(max).count(), 0.0);
  double d = std::max(seconds(initial).count(), 0.0);
  for (std::uint32_t i = 1; i < failures && i < 64 && d < cap; ++i) d *= multiplier;
  d = std::min(d, cap);
  const double spread = std::clamp(jitter, 0.0, 1.0);
  d *= 1.0 + spread * (2.0 * unit_random - 1.0);
  return std::chrono::duration_cast<duration>(seconds(std::max(d, 0.0)));
}

}  // namespace duet::inline v0
#endif
