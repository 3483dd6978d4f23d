#pragma once

#include <duet/loop/deadline.hpp>

#include <algorithm>
#include <optional>

namespace duet::inline v0 {

/// Per-call options, given as the first argument of `client::call` /
/// `client::try_call`:
///
///     co_await client.call({.timeout = std::chrono::milliseconds(50)}, kv_get, key);
///
/// With neither a timeout nor a deadline a call waits as long as the
/// connection lives. With both, the earlier one wins. A call whose deadline
/// passes ends alone with `deadline_exceeded`; the connection and every other
/// call carry on, and a response that arrives later is dropped.
struct call_options {
  /// How long the call may take, from the moment it is issued.
  std::optional<duration> timeout{};
  /// The latest time the call may end.
  std::optional<time_point> deadline{};

  /// The effective deadline for a call issued at `now`.
  [[nodiscard]] std::optional<time_point> deadline_from(time_point now) const {
    std::optional<time_point> result = deadline;
    if (timeout) {
      const time_point by_timeout = now + *timeout;
      result = result ? std::min(*result, by_timeout) : by_timeout;
    }
    return result;
  }
};

}  // namespace duet::inline v0
