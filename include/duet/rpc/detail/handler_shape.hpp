#pragma once

#include <duet/coro/concepts.hpp>
#include <duet/result.hpp>
#include <duet/rpc/context.hpp>

#include <tuple>
#include <type_traits>
#include <utility>

namespace duet::inline v0::detail {

/// Whether `T` is a `duet::result`.
template <class T>
struct is_result : std::false_type {};
template <class T>
struct is_result<result<T>> : std::true_type {};

/// Whether a handler's return type `X` (after awaiting, if it is awaitable)
/// can answer a method returning `R`: R itself (or convertible), or
/// result<R>.
template <class X, class R>
inline constexpr bool answers =
    std::is_same_v<std::remove_cvref_t<X>, result<R>> ||
    (std::is_void_v<R> ? std::is_void_v<X> : (!is_result<std::remove_cvref_t<X>>::value && std::is_convertible_v<X, R>));

/// How a handler H is called for a method R(Args...): with or without a
/// leading call_context&, synchronously or through an awaitable.
template <class H, class R, class... Args>
struct handler_shape {
  static constexpr bool takes_context = std::is_invocable_v<H&, call_context&, Args&&...>;
  static constexpr bool takes_args = std::is_invocable_v<H&, Args&&...>;
  static constexpr bool invocable = takes_context || takes_args;

  // Probes return type_identity<void> for an unusable handler, so that the
  // static_asserts in router::on are the only diagnostics a user sees.
  static auto result_probe() {
    if constexpr (!invocable) {
      return std::type_identity<void>{};
    } else if constexpr (takes_context) {
      return std::type_identity<std::invoke_result_t<H&, call_context&, Args&&...>>{};
    } else {
      return std::type_identity<std::invoke_result_t<H&, Args&&...>>{};
    }
  }
  template <class X>
  static auto awaited_probe() {
    if constexpr (awaitable<X>) {
      return std::type_identity<await_result_t<X>>{};
    } else {
      return std::type_identity<X>{};
    }
  }

  using returned = typename decltype(result_probe())::type;
  static constexpr bool asynchronous = awaitable<returned>;
  using produced = typename decltype(awaited_probe<returned>())::type;
  static constexpr bool matches = answers<produced, R>;
};

/// As std::invoke, without including <functional> into every router user:
/// a pointer to member goes through std::apply (<tuple>), which invokes the
/// same way; anything else is called directly.
template <class H, class... A>
decltype(auto) invoke_handler(H& handler, A&&... a) {
  if constexpr (std::is_member_pointer_v<H>) {
    return std::apply(handler, std::forward_as_tuple(std::forward<A>(a)...));
  } else {
    return handler(std::forward<A>(a)...);
  }
}

}  // namespace duet::inline v0::detail
