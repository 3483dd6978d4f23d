#pragma once

#include <duet/config.hpp>

#include <duet/status.hpp>

#include <type_traits>
#include <utility>
#include <variant>  // the value-or-status storage

namespace duet::inline v0 {

/// A call's outcome: a value of type T, or a non-ok `status`.
///
/// `client::try_call` returns it and never throws for RPC failures;
/// `client::call` is try_call followed by `value()`. A result never holds
/// an ok status without a value: constructing one from `status_code::ok`
/// turns it into `internal` so the invariant cannot be broken silently.
template <class T>
class [[nodiscard]] result {
  static_assert(!std::is_reference_v<T>, "duet::result<T> holds values; T must not be a reference");
  static_assert(!std::is_same_v<std::remove_cv_t<T>, status>,
                "duet::result<status> is ambiguous; return a duet::status from a handler instead");

 public:
  using value_type = T;

  result(T value) : m_storage(std::in_place_index<0>, std::move(value)) {}
  result(status s) : m_storage(std::in_place_index<1>, checked(std::move(s))) {}
  result(status_code code, std::string message = {}) : result(status(code, std::move(message))) {}

  [[nodiscard]] bool has_value() const noexcept { return m_storage.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  /// The value; throws rpc_error carrying the status when there is none.
  [[nodiscard]] T& value() & {
    throw_if_error();
    return *std::get_if<0>(&m_storage);
  }
  [[nodiscard]] const T& value() const& {
    throw_if_error();
    return *std::get_if<0>(&m_storage);
  }
  [[nodiscard]] T&& value() && {
    throw_if_error();
    return std::move(*std::get_if<0>(&m_storage));
  }

  /// The value without checking: the caller knows has_value() is true.
  [[nodiscard]] T& operator*() & noexcept { return *std::get_if<0>(&m_storage); }
  [[nodiscard]] const T& operator*() const& noexcept { return *std::get_if<0>(&m_storage); }
  [[nodiscard]] T&& operator*() && noexcept { return std::move(*std::get_if<0>(&m_storage)); }
  [[nodiscard]] T* operator->() noexcept { return std::get_if<0>(&m_storage); }
  [[nodiscard]] const T* operator->() const noexcept { return std::get_if<0>(&m_storage); }

  /// The status: `ok` when there is a value, else why there is none.
  [[nodiscard]] status error() const {
    if (const status* s = std::get_if<1>(&m_storage)) return *s;
    return {};
  }
  [[nodiscard]] status_code code() const noexcept {
    if (const status* s = std::get_if<1>(&m_storage)) return s->code();
    return status_code::ok;
  }

 private:
  static status checked(status s) {
    if (s.ok()) return status(status_code::internal, "a result was built from an ok status without a value");
    return s;
  }
  void throw_if_error() const {
    if (const status* s = std::get_if<1>(&m_storage)) throw rpc_error(*s);
  }

  std::variant<T, status> m_storage;
};

/// The outcome of a call whose method returns nothing: ok, or a status.
template <>
class [[nodiscard]] result<void> {
 public:
  using value_type = void;

  result() = default;
  result(status s) : m_status(std::move(s)) {}
  result(status_code code, std::string message = {}) : m_status(code, std::move(message)) {}

  [[nodiscard]] bool has_value() const noexcept { return m_status.ok(); }
  explicit operator bool() const noexcept { return has_value(); }

  /// Returns when ok; throws rpc_error carrying the status otherwise.
  void value() const;

  [[nodiscard]] status error() const { return m_status; }
  [[nodiscard]] status_code code() const noexcept { return m_status.code(); }

 private:
  status m_status;
};

}  // namespace duet::inline v0

// ------------------------------------------------------------ definitions ---
// Inline in every translation unit, or compiled once by <duet/src.hpp> when
// DUET_SEPARATE_COMPILATION is defined (see <duet/config.hpp>).
#if DUET_HEADER_DEFINITIONS
namespace duet::inline v0 {

DUET_INLINE void result<void>::value() const {
  if (!m_status.ok()) throw rpc_error(m_status);
}

}  // namespace duet::inline v0
#endif
