#pragma once

#include <exception>  // std::exception_ptr, std::current_exception
#include <memory>     // std::addressof, std::construct_at
#include <new>
#include <type_traits>
#include <utility>

namespace duet::inline v0::detail {

/// The outcome of a coroutine, stored in its promise: nothing yet, a value
/// or an exception. Promises inherit from it to get `return_value` /
/// `return_void` and `unhandled_exception`.
///
/// `T` is a value type (move-only is fine), an lvalue reference (stored as a
/// pointer) or void. The value lives in a union so no default constructor is
/// needed and no second allocation happens.
template <class T>
class promise_result {
public:
  promise_result() noexcept {}
  promise_result(const promise_result&) = delete;
  promise_result& operator=(const promise_result&) = delete;

  ~promise_result() {
    if (m_state == state::value) {
      std::destroy_at(std::addressof(m_value));
    } else if (m_state == state::exception) {
      std::destroy_at(std::addressof(m_exception));
    }
  }

  // The defaulted U lets `co_return {a, b};` pick T's constructor.
  template <class U = T>
    requires std::is_constructible_v<T, U&&>
  void return_value(U&& value) noexcept(std::is_nothrow_constructible_v<T, U&&>) {
    // If the constructor throws, m_state stays empty and the exception
    // reaches unhandled_exception() like any other.
    std::construct_at(std::addressof(m_value), std::forward<U>(value));
    m_state = state::value;
  }

  void unhandled_exception() noexcept {
    std::construct_at(std::addressof(m_exception), std::current_exception());
    m_state = state::exception;
  }

  [[nodiscard]] bool has_exception() const noexcept { return m_state == state::exception; }

  [[nodiscard]] std::exception_ptr exception() const noexcept {
    return m_state == state::exception ? m_exception : std::exception_ptr{};
  }

  /// The value; rethrows the stored exception. Precondition: the coroutine
  /// completed.
  T& result() & {
    rethrow_if_exception();
    return m_value;
  }

  T&& result() && {
    rethrow_if_exception();
    return std::move(m_value);
  }

private:
  void rethrow_if_exception() {
    if (m_state == state::exception) std::rethrow_exception(m_exception);
  }

  enum class state : unsigned char { empty, value, exception };
  state m_state = state::empty;
  union {
    T m_value;
    std::exception_ptr m_exception;
  };
};

template <class T>
class promise_result<T&> {
public:
  void return_value(T& value) noexcept { m_value = std::addressof(value); }
  void unhandled_exception() noexcept { m_exception = std::current_exception(); }

  [[nodiscard]] bool has_exception() const noexcept { return static_cast<bool>(m_exception); }
  [[nodiscard]] std::exception_ptr exception() const noexcept { return m_exception; }

  T& result() const {
    if (m_exception) std::rethrow_exception(m_exception);
    return *m_value;
  }

private:
  T* m_value = nullptr;
  std::exception_ptr m_exception;
};

template <>
class promise_result<void> {
public:
  void return_void() noexcept {}
  void unhandled_exception() noexcept { m_exception = std::current_exception(); }

  [[nodiscard]] bool has_exception() const noexcept { return static_cast<bool>(m_exception); }
  [[nodiscard]] std::exception_ptr exception() const noexcept { return m_exception; }

  void result() const {
    if (m_exception) std::rethrow_exception(m_exception);
  }

private:
  std::exception_ptr m_exception;
};

/// How a result of type `R` (an await_resume type) is held once the awaiter
/// is gone: rvalue references decay to values (the referent may die with the
/// awaiter), lvalue references stay references, cv-qualified values lose
/// their qualifiers so they can be moved out.
template <class R>
using stored_result_t = std::conditional_t<std::is_lvalue_reference_v<R>, R, std::remove_cvref_t<R>>;

}  // namespace duet::inline v0::detail
