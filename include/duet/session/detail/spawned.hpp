#pragma once

#include <duet/coro/detail/frame_cache.hpp>

#include <coroutine>
#include <exception>

namespace duet::inline v0::detail {

/// A coroutine that starts at once, belongs to nobody, and frees itself when
/// it ends. The session runs its reader, writer and asynchronous handlers as
/// `spawned` coroutines and tracks their lifetimes itself (every body keeps
/// what it uses alive and reports its end), so no owner object is needed.
///
/// A `spawned` body must not let an exception escape: there is nobody to
/// receive it, so an escape terminates the program.
struct spawned {
  struct promise_type : pooled_frame {
    spawned get_return_object() noexcept { return {}; }
    std::suspend_never initial_suspend() noexcept { return {}; }
    std::suspend_never final_suspend() noexcept { return {}; }
    void return_void() noexcept {}
    [[noreturn]] void unhandled_exception() noexcept { std::terminate(); }
  };
};

}  // namespace duet::inline v0::detail
