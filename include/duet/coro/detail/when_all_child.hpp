#pragma once

#include <atomic>
#include <coroutine>
#include <cstddef>
#include <type_traits>
#include <utility>

#include <duet/coro/detail/frame_cache.hpp>
#include <duet/coro/detail/promise_result.hpp>

namespace duet::inline v0::detail {

/// Counts the children of one when_all still running, plus one for the
/// parent until it has started them all and suspended. Whoever brings the
/// count to zero resumes (or, for the parent, does not suspend) the parent.
class when_all_counter {
public:
  explicit when_all_counter(std::size_t children) noexcept : m_count(children + 1) {}

  /// A child finished: the handle to transfer to (the parent if this was the
  /// last one, else noop).
  std::coroutine_handle<> child_done() noexcept {
    // acq_rel: release publishes this child's result to whoever resumes the
    // parent; acquire (for the last one) sees every other child's result.
    if (m_count.fetch_sub(1, std::memory_order_acq_rel) == 1) return m_continuation;
    return std::noop_coroutine();
  }

  /// Awaited by the parent: records it as the continuation, runs `start`
  /// (which starts every child) and suspends unless all children already
  /// finished.
  template <class Start>
  [[nodiscard]] auto start_and_wait(Start start) noexcept {
    struct awaiter {
      when_all_counter& m_counter;
      Start m_start;

      bool await_ready() const noexcept { return false; }

      bool await_suspend(std::coroutine_handle<> parent) noexcept {
        m_counter.m_continuation = parent;
        m_start();
        // Once our own count is dropped a child on another thread may resume
        // the parent: touch nothing of ours after this line.
        return m_counter.m_count.fetch_sub(1, std::memory_order_acq_rel) != 1;
      }

      void await_resume() const noexcept {}
    };
    return awaiter{*this, std::move(start)};
  }

private:
  std::atomic<std::size_t> m_count;
  std::coroutine_handle<> m_continuation;
};

/// The coroutine that awaits one when_all operand and keeps its outcome.
/// Lazy; `start` runs it until its first suspension.
template <class R>
class when_all_child {
public:
  class promise_type : public promise_result<R>, public pooled_frame {
  public:
    when_all_child get_return_object() noexcept {
      return when_all_child{std::coroutine_handle<promise_type>::from_promise(*this)};
    }

    std::suspend_always initial_suspend() const noexcept { return {}; }

    auto final_suspend() const noexcept {
      struct final_awaiter {
        bool await_ready() const noexcept { return false; }
        std::coroutine_handle<> await_suspend(std::coroutine_handle<promise_type> self) const noexcept {
          return self.promise().m_counter->child_done();
        }
        void await_resume() const noexcept {}
      };
      return final_awaiter{};
    }

    when_all_counter* m_counter = nullptr;
  };

  when_all_child(when_all_child&& other) noexcept : m_coro(std::exchange(other.m_coro, {})) {}
  when_all_child& operator=(when_all_child&&) = delete;
  ~when_all_child() {
    if (m_coro) m_coro.destroy();
  }

  void start(when_all_counter& counter) noexcept {
    m_coro.promise().m_counter = &counter;
    m_coro.resume();
  }

  [[nodiscard]] promise_type& promise() noexcept { return m_coro.promise(); }

private:
  explicit when_all_child(std::coroutine_handle<promise_type> coro) noexcept : m_coro(coro) {}
  std::coroutine_handle<promise_type> m_coro;
};

/// A child awaiting `operand` (moved from; it lives in the when_all frame,
/// which outlives the child).
template <class R, class A>
when_all_child<R> make_when_all_child(A& operand) {
  if constexpr (std::is_void_v<R>) {
    co_await std::move(operand);
  } else {
    co_return co_await std::move(operand);
  }
}

}  // namespace duet::inline v0::detail
