#pragma once

#include <concepts>
#include <coroutine>
#include <type_traits>
#include <utility>  // std::declval

// The awaitable vocabulary every layer constrains on. An *awaiter* is the
// object a `co_await` expression finally talks to (await_ready /
// await_suspend / await_resume); an *awaitable* is anything `co_await` accepts
// outside a promise's await_transform: an awaiter itself, or a type whose
// member or free `operator co_await` yields one.

namespace duet::inline v0::detail {

template <class T>
inline constexpr bool is_coroutine_handle_v = false;

template <class Promise>
inline constexpr bool is_coroutine_handle_v<std::coroutine_handle<Promise>> = true;

/// What the language accepts as the result of `await_suspend`: void, bool or
/// a coroutine handle (symmetric transfer).
template <class R>
concept await_suspend_result =
    std::same_as<R, void> || std::same_as<R, bool> || is_coroutine_handle_v<R>;

template <class A>
concept has_member_co_await = requires(A&& a) { static_cast<A&&>(a).operator co_await(); };

template <class A>
concept has_free_co_await = requires(A&& a) { operator co_await(static_cast<A&&>(a)); };

/// Returns what `co_await a` would talk to (outside any await_transform): the
/// result of a member `operator co_await`, else of a free one found by ADL,
/// else `a` itself (as a reference, nothing is copied).
template <class A>
constexpr decltype(auto) get_awaiter(A&& a) {
  if constexpr (has_member_co_await<A>) {
    return static_cast<A&&>(a).operator co_await();
  } else if constexpr (has_free_co_await<A>) {
    return operator co_await(static_cast<A&&>(a));
  } else {
    return static_cast<A&&>(a);
  }
}

/// The type `get_awaiter` yields for an expression of type `A&&` (a reference
/// when the awaitable is its own awaiter).
template <class A>
using awaiter_type_t = decltype(detail::get_awaiter(std::declval<A>()));

}  // namespace duet::inline v0::detail

namespace duet::inline v0 {

/// A type `co_await` can talk to directly:
///   1. `a.await_ready()` is convertible to bool;
///   2. `a.await_suspend(std::coroutine_handle<>{})` is valid and returns
///      void, bool or a coroutine handle — taking the type-erased handle is
///      what lets any coroutine type await it (STYLE G7);
///   3. `a.await_resume()` is valid; its type is the result of the co_await.
/// The awaiter is used as an lvalue, as the language does.
template <class A>
concept awaiter = requires(A& a, std::coroutine_handle<> h) {
  { a.await_ready() } -> std::convertible_to<bool>;
  a.await_suspend(h);
  requires detail::await_suspend_result<decltype(a.await_suspend(h))>;
  a.await_resume();
};

/// A type an expression of which (`A&&`, so `A&` for lvalues) can be
/// `co_await`ed by any coroutine: an awaiter, or something with a member or
/// free `operator co_await` that yields an awaiter.
template <class A>
concept awaitable = requires { typename detail::awaiter_type_t<A>; } &&
                    awaiter<std::remove_reference_t<detail::awaiter_type_t<A>>>;

/// The type of `co_await std::declval<A>()`: what the awaiter's
/// `await_resume` returns (may be void or a reference).
template <awaitable A>
using await_result_t =
    decltype(std::declval<std::remove_reference_t<detail::awaiter_type_t<A>>&>().await_resume());

/// An awaitable whose result converts to `T` (`awaitable_of<A, void>` holds
/// for any awaitable).
template <class A, class T>
concept awaitable_of = awaitable<A> && (std::is_void_v<T> || std::convertible_to<await_result_t<A>, T>);

}  // namespace duet::inline v0
