#include <duet/detail/scope_exit.hpp>

#include <catch2/catch.hpp>

#include <stdexcept>
#include <utility>

TEST_CASE("a scope_exit guard runs its callable when the scope ends", "[coro]") {
  int runs = 0;
  {
    duet::detail::scope_exit guard([&] { ++runs; });
    CHECK(runs == 0);
  }
  CHECK(runs == 1);
}

TEST_CASE("a scope_exit guard runs when the scope is left by an exception", "[coro]") {
  int runs = 0;
  try {
    duet::detail::scope_exit guard([&] { ++runs; });
    throw std::runtime_error("leaving");
  } catch (const std::runtime_error&) {
  }
  CHECK(runs == 1);
}

TEST_CASE("a released or moved-from scope_exit guard does not run", "[coro]") {
  int runs = 0;
  {
    duet::detail::scope_exit guard([&] { ++runs; });
    guard.release();
  }
  CHECK(runs == 0);
  {
    duet::detail::scope_exit first([&] { ++runs; });
    auto second = std::move(first);
  }
  CHECK(runs == 1);  // once, by the guard it was moved into
}
