#pragma once

#include <duet/config.hpp>

#include <duet/loop/backoff.hpp>
#include <duet/loop/deadline.hpp>
#include <duet/status.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>

namespace duet::inline v0 {

namespace detail {
struct retry_plan;
class retry_driver;
// The retry loop (rpc/detail/retry_loop.hpp, included at the end).
DUET_INLINE retry_driver run_attempts(retry_plan& plan);
}  // namespace detail

/// When and how a failed call is tried again (docs/call-semantics.md,
/// Retries). A policy applies only to calls that are safe to repeat: calls of
/// a method declared idempotent (`method<...>{.idempotent = true}`), and
/// calls that carry an idempotency key (`call_options::idempotency_key`).
///
///     duet::retry_policy p;
///     p.max_attempts = 4;
///     p.attempt_timeout = std::chrono::milliseconds(200);
///     client.set_retry_policy(p);              // or per call: call_options::retry
///
/// After an attempt fails with a retryable code, the call waits a backoff and
/// sends the same request again, at most `max_attempts` times in all. The
/// call's own deadline and stop token cover every attempt and every wait: the
/// call still ends exactly once, with the last attempt's outcome,
/// `deadline_exceeded` or `cancelled`.
struct retry_policy {
  /// Attempts in all, the first included; 1 (or 0) never retries.
  std::uint32_t max_attempts = 3;

  /// The wait after each failed attempt: `backoff.initial` after the first,
  /// `multiplier` times longer after each next one, at most `backoff.max`,
  /// each scaled by a random factor in [1 - jitter, 1 + jitter] so that
  /// clients that failed together do not retry together. A loop timer.
  backoff_policy backoff{std::chrono::milliseconds(20), std::chrono::seconds(1), 2.0, 0.2};

  /// Longest one attempt may take. An attempt that passes it is abandoned
  /// (its late answer is dropped) and counts as failed with a retryable
  /// `deadline_exceeded`; with none, an attempt lasts until the call's
  /// deadline. Needed when a response can be lost without the connection
  /// failing.
  std::optional<duration> attempt_timeout{};

  /// The status codes that are tried again, one bit per code
  /// (`code_bit`): `unavailable` and `resource_exhausted` by default.
  std::uint32_t retryable_codes = code_bit(status_code::unavailable) | code_bit(status_code::resource_exhausted);

  /// The bit of `code` in `retryable_codes`.
  [[nodiscard]] static constexpr std::uint32_t code_bit(status_code code) noexcept {
    const auto n = static_cast<std::uint16_t>(code);
    return n < 32 ? std::uint32_t{1} << n : 0;
  }

  /// Whether an attempt that failed with `code` is tried again.
  [[nodiscard]] constexpr bool retries(status_code code) const noexcept {
    return code != status_code::ok && (retryable_codes & code_bit(code)) != 0;
  }

  /// Not for users: what runs the attempts. Only a program that makes a
  /// retry policy compiles the retry loop (a call without one never
  /// reaches it).
  detail::retry_driver (*attempts_runner)(detail::retry_plan&) = &detail::run_attempts;
};

}  // namespace duet::inline v0

// The definition of detail::run_attempts, which a policy refers to.
#include <duet/rpc/detail/retry_loop.hpp>
