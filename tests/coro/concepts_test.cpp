#include <duet/coro/concepts.hpp>
#include <duet/coro/task.hpp>

#include <catch2/catch.hpp>

#include <coroutine>
#include <memory>

namespace {

struct int_awaiter {
  bool await_ready() const noexcept { return true; }
  void await_suspend(std::coroutine_handle<>) const noexcept {}
  int await_resume() const noexcept { return 1; }
};

struct bool_suspend_awaiter {
  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<>) const noexcept { return false; }
  void await_resume() const noexcept {}
};

struct bad_suspend_awaiter {
  bool await_ready() const noexcept { return false; }
  int await_suspend(std::coroutine_handle<>) const noexcept { return 0; }
  void await_resume() const noexcept {}
};

struct missing_resume {
  bool await_ready() const noexcept { return true; }
  void await_suspend(std::coroutine_handle<>) const noexcept {}
};

struct member_co_await {
  int_awaiter operator co_await() const noexcept { return {}; }
};

struct free_co_await {};
int_awaiter operator co_await(free_co_await) noexcept { return {}; }

struct only_rvalue {
  int_awaiter operator co_await() && noexcept { return {}; }
};

}  // namespace

TEST_CASE("the awaiter concept requires the three await members with valid types", "[coro]") {
  STATIC_REQUIRE(duet::awaiter<int_awaiter>);
  STATIC_REQUIRE(duet::awaiter<bool_suspend_awaiter>);
  STATIC_REQUIRE(duet::awaiter<std::suspend_always>);
  STATIC_REQUIRE_FALSE(duet::awaiter<bad_suspend_awaiter>);
  STATIC_REQUIRE_FALSE(duet::awaiter<missing_resume>);
  STATIC_REQUIRE_FALSE(duet::awaiter<member_co_await>);
  STATIC_REQUIRE_FALSE(duet::awaiter<int>);
}

TEST_CASE("awaitable accepts awaiters and member or free operator co_await", "[coro]") {
  STATIC_REQUIRE(duet::awaitable<int_awaiter>);
  STATIC_REQUIRE(duet::awaitable<member_co_await>);
  STATIC_REQUIRE(duet::awaitable<free_co_await>);
  STATIC_REQUIRE(duet::awaitable<only_rvalue>);
  STATIC_REQUIRE_FALSE(duet::awaitable<only_rvalue&>);
  STATIC_REQUIRE_FALSE(duet::awaitable<int>);
  STATIC_REQUIRE_FALSE(duet::awaitable<missing_resume>);
}

TEST_CASE("await_result_t is what co_await yields, by value category for tasks", "[coro]") {
  STATIC_REQUIRE(std::is_same_v<duet::await_result_t<int_awaiter>, int>);
  STATIC_REQUIRE(std::is_same_v<duet::await_result_t<free_co_await>, int>);
  STATIC_REQUIRE(std::is_same_v<duet::await_result_t<duet::task<int>>, int>);
  STATIC_REQUIRE(std::is_same_v<duet::await_result_t<duet::task<int>&>, int&>);
  STATIC_REQUIRE(std::is_same_v<duet::await_result_t<duet::task<int&>>, int&>);
  STATIC_REQUIRE(std::is_same_v<duet::await_result_t<duet::task<>>, void>);
  STATIC_REQUIRE(std::is_same_v<duet::await_result_t<duet::task<std::unique_ptr<int>>>, std::unique_ptr<int>>);
}

TEST_CASE("awaitable_of checks that the result converts to the wanted type", "[coro]") {
  STATIC_REQUIRE(duet::awaitable_of<duet::task<int>, long>);
  STATIC_REQUIRE(duet::awaitable_of<duet::task<int>, void>);
  STATIC_REQUIRE_FALSE(duet::awaitable_of<duet::task<int>, std::unique_ptr<int>>);
  STATIC_REQUIRE_FALSE(duet::awaitable_of<int, int>);
}
