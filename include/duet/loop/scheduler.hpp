#pragma once

#include <concepts>
#include <coroutine>

#include <duet/coro/concepts.hpp>
#include <duet/loop/deadline.hpp>
#include <duet/loop/detail/timer_heap.hpp>

namespace duet::inline v0 {

/// What the layers above the transport need from an event loop, and no more:
/// the seam that lets a session run on someone else's loop (asio, libuv, Qt)
/// by wrapping it in a type that models this concept. `duet::event_loop` is
/// the default model. For `S& s`:
///
///   1. `s.post(h)` resumes the coroutine handle `h` later on the loop's
///      thread, exactly once, in FIFO order with other posts; thread-safe;
///   2. `co_await s.schedule()` resumes the awaiting coroutine on the loop's
///      thread; thread-safe;
///   3. `s.start_timer(node, when)` / `s.cancel_timer(node)` arm and disarm an
///      intrusive `detail::timer_node` (loop thread only, no allocation);
///      the node's callback runs on the loop thread;
///   4. `s.in_loop_thread()` tells whether the caller runs on the loop's
///      thread.
///
/// This header includes no OS header, so code written against the concept
/// (the in-memory transport, the session) stays free of them.
template <class S>
concept scheduler = requires(S& s, std::coroutine_handle<> h, detail::timer_node& node, time_point when) {
  s.post(h);
  { s.schedule() } -> awaitable;
  s.start_timer(node, when);
  s.cancel_timer(node);
  { s.in_loop_thread() } -> std::convertible_to<bool>;
};

}  // namespace duet::inline v0
