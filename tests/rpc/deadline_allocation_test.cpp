// A deadline costs no allocation: the client writes duet-timeout straight
// into the output buffer, the server reads it into the context's deadline,
// and a coroutine handler's deadline timer lives in its frame.
// tests/rpc/allocation_test.cpp replaces operator new for this executable.
#define DUET_TEST_ALLOCATION_COUNTER_ELSEWHERE
#include "loop/allocation_counter.hpp"
#include "rpc/rig.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace deadline_allocation_test {

namespace {

using block = std::array<std::byte, 16>;
constexpr duet::method<"deadline_alloc.echo", block(block)> echo_block;
constexpr duet::method<"deadline_alloc.slow_add", int(int, int)> slow_add;  // a coroutine handler

struct tally {
  std::uint32_t wrong = 0;
  std::uint32_t without_deadline = 0;
};

duet::task<void> caller(duet::client<duet::memory_stream>& client, int calls, int salt, tally& t) {
  duet::call_options o;
  o.timeout = std::chrono::seconds(5);
  for (int i = 0; i < calls; ++i) {
    block sent{};
    sent[0] = static_cast<std::byte>(i);
    duet::result<block> echoed = co_await client.try_call(o, echo_block, sent);
    if (!echoed || *echoed != sent) ++t.wrong;
    duet::result<int> sum = co_await client.try_call(o, slow_add, i, salt);
    if (!sum || *sum != i + salt) ++t.wrong;
  }
}

duet::task<std::size_t> count_steady_state_allocations(duet::client<duet::memory_stream>& client, tally& t) {
  constexpr int rounds = 4;
  constexpr int callers = 16;
  constexpr int calls = 40;
  std::size_t counted = 0;
  duet::async_scope scope;
  for (int round = 0; round < rounds; ++round) {
    if (round == rounds - 1) duet_test::allocation_counter::start();
    for (int c = 0; c < callers; ++c) scope.spawn(caller(client, calls, c, t));
    co_await scope.join();
    if (round == rounds - 1) counted = duet_test::allocation_counter::stop();
  }
  co_return counted;
}

}  // namespace

TEST_CASE("calls with a timeout allocate nothing once warmed up, on either side", "[rpc][deadline]") {
  if (!duet_test::allocation_counter::available) {
    WARN("the sanitizer owns operator new: allocation counting skipped");
    return;
  }
  rig r;
  tally t;
  r.router.on(echo_block, [&t](duet::call_context& ctx, const block& b) {
    if (!ctx.deadline()) ++t.without_deadline;
    return b;
  });
  r.router.on(slow_add, [&r, &t](duet::call_context& ctx, int a, int b) -> duet::task<int> {
    if (!ctx.deadline()) ++t.without_deadline;
    co_await r.loop.schedule();  // suspends with its deadline timer armed
    co_return a + b;
  });
  // The call table grows a slot at a time up to max_in_flight before it
  // reuses any (call_table.hpp): a small table is warm after the first round.
  duet::session_options options;
  options.max_in_flight = 256;
  auto client = r.connect(options);
  std::size_t allocations = 1;
  r.run([&]() -> duet::task<void> {
    allocations = co_await count_steady_state_allocations(client, t);
    co_await client.close();
  });
  CHECK(t.wrong == 0);
  CHECK(t.without_deadline == 0);
  CHECK(allocations == 0);
}

}  // namespace deadline_allocation_test
