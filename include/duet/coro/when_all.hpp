#pragma once

#include <concepts>
#include <cstddef>
#include <exception>  // std::exception_ptr, std::rethrow_exception
#include <functional>  // std::reference_wrapper
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>  // std::monostate
#include <vector>

#include <duet/coro/concepts.hpp>
#include <duet/coro/detail/promise_result.hpp>
#include <duet/coro/detail/when_all_child.hpp>
#include <duet/coro/task.hpp>

namespace duet::inline v0 {

namespace detail {

/// What a child keeps: the operand's result with rvalue references decayed.
template <class A>
using when_all_stored_t = stored_result_t<await_result_t<A>>;

/// The tuple element for one operand: void becomes std::monostate.
template <class A>
using when_all_element_t =
    std::conditional_t<std::is_void_v<when_all_stored_t<A>>, std::monostate, when_all_stored_t<A>>;

/// The vector element for a range of task<T>: an lvalue reference T& becomes
/// std::reference_wrapper<T>.
template <class T>
using when_all_range_element_t =
    std::conditional_t<std::is_reference_v<T>, std::reference_wrapper<std::remove_reference_t<T>>, T>;

template <class T>
using when_all_range_result_t = std::conditional_t<std::is_void_v<T>, void, std::vector<when_all_range_element_t<T>>>;

template <class Element, class R>
Element take_when_all_result(when_all_child<R>& child) {
  if constexpr (std::is_void_v<R>) {
    return std::monostate{};
  } else if constexpr (std::is_reference_v<R>) {
    return child.promise().result();
  } else {
    return std::move(child.promise()).result();
  }
}

template <class Children>
void rethrow_first_exception(Children& children) {
  std::exception_ptr first;
  std::apply([&](auto&... child) { ((first = first ? first : child.promise().exception()), ...); }, children);
  if (first) std::rethrow_exception(first);
}

template <class... As>
task<std::tuple<when_all_element_t<As>...>> when_all_impl(As... operands) {
  // The operands live in this frame; each child awaits one of them.
  std::tuple children{make_when_all_child<when_all_stored_t<As>>(operands)...};
  when_all_counter counter(sizeof...(As));
  co_await counter.start_and_wait(
      [&]() noexcept { std::apply([&](auto&... child) { (child.start(counter), ...); }, children); });
  // Every child has finished here, successfully or not.
  rethrow_first_exception(children);
  co_return std::apply(
      [](auto&... child) {
        return std::tuple<when_all_element_t<As>...>{take_when_all_result<when_all_element_t<As>>(child)...};
      },
      children);
}

}  // namespace detail

/// Runs every operand concurrently and completes when all have completed,
/// yielding `std::tuple<R...>` of their results in argument order (a void
/// result becomes `std::monostate`, an rvalue reference a value, an lvalue
/// reference stays a reference).
///
/// - Takes the operands by value (tasks must be moved in); lazy: nothing runs
///   until the returned task is awaited. Then the operands are started one
///   after another on the awaiting thread, each running until it first
///   suspends.
/// - Completes on the thread that completes the last operand (which resumes
///   the awaiter); operands may complete on different threads.
/// - If any operand throws, all operands still run to completion, then the
///   exception of the first operand (in argument order) that threw is
///   rethrown and the other results are dropped.
/// - One coroutine frame per operand, plus the returned task.
template <class... As>
  requires((awaitable<std::decay_t<As>> && std::constructible_from<std::decay_t<As>, As &&>) && ...)
[[nodiscard]] task<std::tuple<detail::when_all_element_t<std::decay_t<As>>...>> when_all(As&&... operands) {
  return detail::when_all_impl<std::decay_t<As>...>(std::forward<As>(operands)...);
}

/// Runs every task of `tasks` concurrently and completes when all have
/// completed, yielding their results in order: `std::vector<T>`
/// (`std::reference_wrapper<U>` elements for `T = U&`), or nothing for
/// `task<void>`. An empty vector completes at once with an empty result.
///
/// Threads and exceptions as for the variadic form: the last task to finish
/// resumes the awaiter; after all have finished, the exception of the first
/// (by index) that threw is rethrown.
template <class T>
[[nodiscard]] task<detail::when_all_range_result_t<T>> when_all(std::vector<task<T>> tasks) {
  std::vector<detail::when_all_child<T>> children;
  children.reserve(tasks.size());
  for (auto& t : tasks) children.push_back(detail::make_when_all_child<T>(t));
  detail::when_all_counter counter(children.size());
  co_await counter.start_and_wait([&]() noexcept {
    for (auto& child : children) child.start(counter);
  });
  for (auto& child : children) {
    if (auto e = child.promise().exception()) std::rethrow_exception(e);
  }
  if constexpr (!std::is_void_v<T>) {
    std::vector<detail::when_all_range_element_t<T>> results;
    results.reserve(children.size());
    for (auto& child : children) {
      if constexpr (std::is_reference_v<T>) {
        results.emplace_back(child.promise().result());
      } else {
        results.push_back(std::move(child.promise()).result());
      }
    }
    co_return results;
  }
}

}  // namespace duet::inline v0
