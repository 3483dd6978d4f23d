#pragma once

namespace duet::inline v0::detail {

class session_core;

/// The connection a reconnecting client's calls go to: whichever session is
/// current when a call is awaited. nullptr while there is none (connecting,
/// backing off, or closed). Owned by the client's reconnector, so its
/// address outlives every call made through the client.
struct connection_slot {
  session_core* current = nullptr;
};

/// What a call is made on: a session, bound when the call is made, or a
/// connection slot, read when the call is awaited.
struct call_target {
  call_target(session_core& session) noexcept : core(&session) {}  // NOLINT: implicit
  call_target(const connection_slot& where) noexcept : slot(&where) {}  // NOLINT: implicit

  /// The session a call awaited now goes to (null: none right now).
  [[nodiscard]] session_core* current() const noexcept { return slot != nullptr ? slot->current : core; }

  session_core* core = nullptr;
  const connection_slot* slot = nullptr;
};

}  // namespace duet::inline v0::detail
