#pragma once

#include <type_traits>
#include <utility>

namespace duet::inline v0::detail {

/// Runs a callable when the guard goes out of scope — on every exit path,
/// including exceptions and a coroutine frame being destroyed while
/// suspended — unless `release()` was called first.
///
/// The callable should not throw: the destructor is noexcept, so an
/// exception escaping it calls std::terminate. Move-only; a moved-from guard
/// does nothing.
template <class F>
class [[nodiscard]] scope_exit {
  static_assert(std::is_invocable_v<F&>, "duet::detail::scope_exit needs a callable invocable without arguments");

public:
  explicit scope_exit(F f) noexcept(std::is_nothrow_move_constructible_v<F>) : m_f(std::move(f)) {}

  scope_exit(scope_exit&& other) noexcept(std::is_nothrow_move_constructible_v<F>)
      : m_f(std::move(other.m_f)), m_active(std::exchange(other.m_active, false)) {}

  scope_exit(const scope_exit&) = delete;
  scope_exit& operator=(const scope_exit&) = delete;
  scope_exit& operator=(scope_exit&&) = delete;

  ~scope_exit() {
    if (m_active) m_f();
  }

  /// Disarms the guard: the callable will not run.
  void release() noexcept { m_active = false; }

private:
  F m_f;
  bool m_active = true;
};

template <class F>
scope_exit(F) -> scope_exit<F>;

}  // namespace duet::inline v0::detail
