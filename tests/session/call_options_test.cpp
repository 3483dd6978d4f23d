#include <duet/session/call_options.hpp>

#include <catch2/catch.hpp>

#include <chrono>

using namespace std::chrono_literals;

TEST_CASE("a call with neither timeout nor deadline has no deadline", "[session]") {
  CHECK_FALSE(duet::call_options{}.effective_deadline().has_value());
}

TEST_CASE("a timeout becomes a deadline counted from now", "[session]") {
  const auto before = duet::clock::now();
  const auto deadline = duet::call_options{.timeout = 5s}.effective_deadline();
  const auto after = duet::clock::now();
  REQUIRE(deadline.has_value());
  CHECK(*deadline >= before + 5s);
  CHECK(*deadline <= after + 5s);
}

TEST_CASE("with both a timeout and a deadline the earlier one wins", "[session]") {
  const auto soon = duet::clock::now() + 1s;
  CHECK(duet::call_options{.timeout = 1h, .deadline = soon}.effective_deadline() == soon);
  const auto late = duet::clock::now() + 1h;
  const auto chosen = duet::call_options{.timeout = 1s, .deadline = late}.effective_deadline();
  REQUIRE(chosen.has_value());
  CHECK(*chosen < late);
}

TEST_CASE("an enormous timeout saturates instead of overflowing", "[session]") {
  const auto deadline = duet::call_options{.timeout = duet::duration::max()}.effective_deadline();
  REQUIRE(deadline.has_value());
  CHECK(*deadline == duet::time_point::max());
}
