#pragma once

#include <chrono>

namespace duet::inline v0 {

/// The clock every duet timer, deadline and timeout is measured on. It is
/// monotonic: wall-clock adjustments never fire or delay a timer.
using clock = std::chrono::steady_clock;

/// A point on `duet::clock`: when a timer fires, when a call's deadline ends.
using time_point = clock::time_point;

/// A span of `duet::clock` time: a timeout.
using duration = clock::duration;

/// The deadline `timeout` from now. Saturates instead of overflowing, so
/// `deadline_after(duration::max())` means "never".
[[nodiscard]] inline time_point deadline_after(duration timeout) noexcept {
  const time_point now = clock::now();
  if (timeout > time_point::max() - now) return time_point::max();
  return now + timeout;
}

}  // namespace duet::inline v0
