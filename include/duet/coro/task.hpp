#pragma once

#include <duet/config.hpp>

#include <coroutine>
#include <stdexcept>  // std::logic_error, for awaiting an empty task
#include <type_traits>
#include <utility>

#include <duet/coro/detail/frame_cache.hpp>
#include <duet/coro/detail/promise_result.hpp>

namespace duet::inline v0 {

template <class T = void>
class task;

namespace detail {

// Task state machine (one coroutine frame, owned by the task object):
//
//   created --co_await--> running --co_return/throw--> final (done)
//      |                    | ^                           |
//      |                    v |                           |
//      |                 suspended (awaiting something)    |
//      +--------- ~task() destroys the frame -------------+
//
// "created" is the initial suspend point: nothing of the body has run. The
// awaiter stores its handle as the continuation and transfers to the task
// (symmetric transfer). At the final suspend point the promise holds the
// value or exception and transfers straight back to the continuation; the
// frame stays alive until the task object dies, so the awaiter can read the
// result in await_resume.
//
// No atomics: the continuation is written before the task starts and read by
// the same logical thread of control that completes it, and the hand-over
// between threads (if the body resumed elsewhere) is synchronised by whatever
// resumed it.
class task_promise_base : public pooled_frame {
public:
  struct final_awaiter {
    [[nodiscard]] bool await_ready() const noexcept { return false; }

    template <class Promise>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> self) noexcept {
      // Returning the handle (rather than calling resume()) is what keeps the
      // stack flat when tasks complete synchronously in a loop.
      return self.promise().m_continuation;
    }

    void await_resume() const noexcept {}
  };

  std::suspend_always initial_suspend() const noexcept { return {}; }
  final_awaiter final_suspend() const noexcept { return {}; }

  void set_continuation(std::coroutine_handle<> continuation) noexcept { m_continuation = continuation; }

private:
  // noop: a task resumed without an awaiter (never happens through the
  // public API) simply stops at its final suspend point.
  std::coroutine_handle<> m_continuation = std::noop_coroutine();
};

template <class T>
class task_promise final : public task_promise_base, public promise_result<T> {
public:
  task<T> get_return_object() noexcept;
};

[[noreturn]] DUET_INLINE void throw_empty_task();

}  // namespace detail

/// A lazy coroutine producing a `T` (void, a value type — move-only is fine —
/// or an lvalue reference).
///
/// - Lazy: the body does not run until the task is awaited. Destroying a task
///   that was never awaited destroys its frame (and its parameters) without
///   running any of the body.
/// - `co_await t` (lvalue) starts the task and yields `T&` (the result stays
///   in the task, which may be awaited again once done and yields it again);
///   `co_await std::move(t)` yields `T` moved out of the task. For `T&` both
///   yield `T&`; for void both yield void.
/// - An exception escaping the body is rethrown by the co_await.
/// - Completion: the awaiter is resumed by whichever thread completes the
///   task body (the one running it when it reaches `co_return`), by symmetric
///   transfer, so synchronous chains of any length use constant stack.
/// - Any coroutine type can await a task: await_suspend takes
///   `std::coroutine_handle<>`.
/// - Move-only. One coroutine frame per task; the result is stored in the
///   frame. Not thread-safe: one awaiter, at most once while running.
/// - Awaiting an empty (default-constructed or moved-from) task throws
///   `std::logic_error`.
template <class T>
class [[nodiscard]] task {
  static_assert(!std::is_rvalue_reference_v<T>, "duet::task<T&&> is not supported: return T by value instead");
  static_assert(std::is_void_v<T> || std::is_reference_v<T> || std::is_destructible_v<T>,
                "duet::task<T> needs a destructible T (or void, or an lvalue reference)");

public:
  using promise_type = detail::task_promise<T>;
  using value_type = T;

  /// An empty task; awaiting it throws std::logic_error.
  task() noexcept = default;

  task(task&& other) noexcept : m_coro(std::exchange(other.m_coro, {})) {}

  task& operator=(task&& other) noexcept {
    if (this != &other) {
      destroy();
      m_coro = std::exchange(other.m_coro, {});
    }
    return *this;
  }

  task(const task&) = delete;
  task& operator=(const task&) = delete;

  ~task() { destroy(); }

  /// True once the body has finished (with a value or an exception), or if
  /// the task is empty. Not thread-safe against the task completing.
  [[nodiscard]] bool is_ready() const noexcept { return !m_coro || m_coro.done(); }

  /// True if the task holds a coroutine (not default-constructed/moved-from).
  [[nodiscard]] explicit operator bool() const noexcept { return static_cast<bool>(m_coro); }

  /// Starts the task (unless it is done) and yields `T&` (or `T&` / void).
  [[nodiscard]] auto operator co_await() & noexcept {
    struct awaiter : awaiter_base {
      decltype(auto) await_resume() {
        if (!this->m_coro) detail::throw_empty_task();
        return this->m_coro.promise().result();
      }
    };
    return awaiter{{m_coro}};
  }

  /// Starts the task (unless it is done) and yields `T` moved out of it (or
  /// `T&` / void).
  [[nodiscard]] auto operator co_await() && noexcept {
    struct awaiter : awaiter_base {
      // By value, not T&&: a reference into the frame would dangle in
      // `auto&& x = co_await make_task();` once the temporary task dies.
      T await_resume() {
        if (!this->m_coro) detail::throw_empty_task();
        if constexpr (std::is_void_v<T> || std::is_reference_v<T>) {
          return this->m_coro.promise().result();
        } else {
          return std::move(this->m_coro.promise()).result();
        }
      }
    };
    return awaiter{{m_coro}};
  }

private:
  friend class detail::task_promise<T>;

  explicit task(std::coroutine_handle<promise_type> coro) noexcept : m_coro(coro) {}

  struct awaiter_base {
    std::coroutine_handle<promise_type> m_coro;

    // Ready if there is nothing to run: done, or empty (await_resume throws).
    [[nodiscard]] bool await_ready() const noexcept { return !m_coro || m_coro.done(); }

    std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiting) noexcept {
      m_coro.promise().set_continuation(awaiting);
      return m_coro;
    }
  };

  void destroy() noexcept {
    if (m_coro) m_coro.destroy();
  }

  std::coroutine_handle<promise_type> m_coro;
};

template <class T>
task<T> detail::task_promise<T>::get_return_object() noexcept {
  return task<T>{std::coroutine_handle<task_promise>::from_promise(*this)};
}

}  // namespace duet::inline v0

// ------------------------------------------------------------ definitions ---
// Inline in every translation unit, or compiled once by <duet/src.hpp> when
// DUET_SEPARATE_COMPILATION is defined (see <duet/config.hpp>).
#if DUET_HEADER_DEFINITIONS
namespace duet::inline v0::detail {

DUET_INLINE void throw_empty_task() {
  throw std::logic_error("duet::task: co_await on an empty (default-constructed or moved-from) task");
}

}  // namespace duet::inline v0::detail
#endif
