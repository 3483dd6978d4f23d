#pragma once

#include <type_traits>
#include <utility>

#include <duet/coro/concepts.hpp>
#include <duet/coro/detail/promise_result.hpp>
#include <duet/coro/detail/sync_wait_task.hpp>

namespace duet::inline v0 {

/// Blocks the calling thread until `a` completes and returns its result, or
/// rethrows the exception it completed with.
///
/// - `a` is started on the calling thread; it may complete on any thread
///   (e.g. an event loop's), which then wakes this one.
/// - Returns `T` when `co_await a` yields `T` or `T&&` (moved out, so
///   move-only results work), `T&` when it yields `T&`, nothing for void.
/// - Never call it from a thread that must run for `a` to complete (such as
///   the only thread driving the event loop `a` waits on): that deadlocks.
/// - Thread-safe: any number of threads may sync_wait concurrently.
template <awaitable A>
auto sync_wait(A&& a) -> detail::stored_result_t<await_result_t<A>> {
  using result_type = detail::stored_result_t<await_result_t<A>>;
  auto wrapper = detail::make_sync_wait_task<result_type>(static_cast<A&&>(a));
  wrapper.run_and_wait();
  if constexpr (std::is_void_v<result_type> || std::is_reference_v<result_type>) {
    return wrapper.promise().result();
  } else {
    return std::move(wrapper.promise()).result();
  }
}

}  // namespace duet::inline v0
