// In steady state a stream of fixed-size messages allocates nothing per
// message, on either side: messages are decoded where they arrive (or into
// a queue that keeps its slots), encoded into buffers that keep their
// capacity, and credit is a frame written in place.

#include "loop/allocation_counter.hpp"

#include "stream/stream_rig.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

#include <duet/coro/task.hpp>

#include "rpc/rig.hpp"
#include "rpc/tcp_rig.hpp"

namespace {

using block = std::array<std::byte, 16>;
inline constexpr duet::method<"alloc.blocks", duet::stream<block>(std::uint32_t)> blocks;
inline constexpr duet::method<"alloc.mirror", duet::stream<block>(duet::stream<block>)> mirror;

void serve(duet::router& router) {
  router.on(blocks, [](std::uint32_t n, duet::stream_writer<block>& out) -> duet::task<void> {
    block b{};
    for (std::uint32_t i = 0; i < n; ++i) {
      b[0] = static_cast<std::byte>(i);
      const bool sent = co_await out.send(b);
      if (!sent) co_return;
    }
  });
  router.on(mirror, [](duet::stream_reader<block>& in, duet::stream_writer<block>& out) -> duet::task<void> {
    for (;;) {
      std::optional<block> b = co_await in.next();
      if (!b) co_return;
      const bool sent = co_await out.send(*b);
      if (!sent) co_return;
    }
  });
}

// Messages of one open stream of each kind; only the last round is counted.
template <class Client>
duet::task<std::size_t> steady_allocations(Client& client, std::uint32_t& wrong) {
  auto feed = co_await client.open(blocks, 1'000'000u);
  auto echo = co_await client.open(mirror);
  std::size_t counted = 0;
  for (int round = 0; round < 4; ++round) {
    if (round == 3) duet_test::allocation_counter::start();
    for (std::uint32_t i = 0; i < 2000; ++i) {
      std::optional<block> b = co_await feed.next();
      if (!b) ++wrong;
      block sent{};
      sent[1] = static_cast<std::byte>(i);
      const bool ok = co_await echo.send(sent);
      if (!ok) ++wrong;
      std::optional<block> back = co_await echo.next();
      if (!back || *back != sent) ++wrong;
    }
    if (round == 3) counted = duet_test::allocation_counter::stop();
  }
  feed.cancel();
  duet::result<void> end = co_await echo.finish();
  if (!end) ++wrong;
  co_return counted;
}

}  // namespace

TEST_CASE("streaming fixed-size messages allocates nothing per message once warmed up", "[stream]") {
  if (!duet_test::allocation_counter::available) {
    WARN("the sanitizer owns operator new: allocation counting skipped");
    return;
  }
  SECTION("in memory") {
    rig r;
    serve(r.router);
    std::uint32_t wrong = 0;
    std::size_t allocations = 1;
    r.run([&]() -> duet::task<void> {
      auto client = r.connect();
      allocations = co_await steady_allocations(client, wrong);
      co_await client.close();
    });
    CHECK(wrong == 0);
    CHECK(allocations == 0);
  }
  SECTION("over TCP") {
    tcp_rig r;
    serve(r.router);
    std::uint32_t wrong = 0;
    std::size_t allocations = 1;
    r.run([&]() -> duet::task<void> {
      auto client = co_await r.connect();
      allocations = co_await steady_allocations(client, wrong);
      co_await client.close();
    });
    CHECK(wrong == 0);
    CHECK(allocations == 0);
  }
}
