// Reads and writes do not allocate, on any transport: their state lives in
// the awaiter, in the caller's coroutine frame.

#include "loop/allocation_counter.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <cstddef>

#include <duet/coro/task.hpp>
#include <duet/loop/event_loop.hpp>

#include "transport/transport_models.hpp"

TEMPLATE_TEST_CASE("a ping-pong over a transport does not allocate once warmed up", "[transport]",
                   duet_test::memory_model, duet_test::tcp_v4_model, duet_test::unix_model) {
  if (!duet_test::allocation_counter::available) {
    WARN("AddressSanitizer owns operator new: allocation counting skipped");
    return;
  }
  duet::event_loop loop(duet_test::any_backend());
  auto pair = loop.block_on(TestType::make(loop));
  REQUIRE(pair);
  auto& [a, b] = *pair;
  auto body = [&]() -> duet::task<std::size_t> {
    std::array<std::byte, 64> message{};
    std::array<std::byte, 64> buffer{};
    const duet::const_buffer pieces[] = {std::span<const std::byte>(message).first(16),
                                         std::span<const std::byte>(message).subspan(16)};
    std::size_t count = 0;
    for (int round = 0; round < 2; ++round) {
      if (round == 1) duet_test::allocation_counter::start();
      for (int i = 0; i < 200; ++i) {
        const auto w = co_await a.write(pieces);
        REQUIRE(w.bytes == message.size());
        std::size_t got = 0;
        while (got < message.size()) {
          const auto r = co_await b.read_some(std::span<std::byte>(buffer).subspan(got));
          REQUIRE(r.bytes > 0);
          got += r.bytes;
        }
      }
      if (round == 1) count = duet_test::allocation_counter::stop();
    }
    co_return count;
  };
  CHECK(loop.block_on(body()) == 0);
}
