#pragma once

#include <duet/loop/deadline.hpp>
#include <duet/rpc/retry_policy.hpp>
#include <duet/wire/metadata.hpp>

#include <algorithm>
#include <optional>
#include <stop_token>
#include <string_view>

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
  /// A stop request (from any thread) ends the call at once with
  /// `cancelled`, frees its slot and tells the server with a cancel frame; a
  /// response already on its way is then dropped. A token stopped before the
  /// call is awaited ends it without sending anything.
  std::stop_token stop{};
  /// Pairs sent with the request (docs/call-semantics.md, Metadata); the
  /// handler reads them from its `call_context`. Empty: none are sent.
  duet::metadata metadata{};
  /// When set, the response's metadata is stored here as the call ends
  /// (cleared first; left empty when the call ended without a response).
  /// Must stay valid until the call has been awaited.
  duet::metadata* response_metadata = nullptr;
  /// The retry policy of this call, instead of the client's
  /// (`client::set_retry_policy`). Either applies only when the method is
  /// declared idempotent or the call has an `idempotency_key`.
  std::optional<retry_policy> retry{};
  /// Marks the call as safe to retry even when its method is not idempotent:
  /// the server runs a request with a given key at most once and answers
  /// repeats from its cache. Empty: no key. Unique per logical operation
  /// (a UUID, say). A view, like `response_metadata` a pointer: the bytes
  /// must stay valid until the call has been awaited. (Not a std::string:
  /// g++ 12 relocates a temporary `call_options` inside a `co_await`
  /// expression bytewise, which breaks a string's inline buffer.)
  std::string_view idempotency_key{};

  /// The effective deadline for a call issued now; the clock is read only
  /// when there is a timeout, so calls without one pay nothing.
  [[nodiscard]] std::optional<time_point> effective_deadline() const {
    if (!timeout) return deadline;
    const time_point by_timeout = deadline_after(*timeout);
    return deadline ? std::min(*deadline, by_timeout) : by_timeout;
  }
};

}  // namespace duet::inline v0
