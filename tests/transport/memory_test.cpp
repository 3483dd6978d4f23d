#include <duet/transport/memory.hpp>

#include <catch2/catch.hpp>

#include <array>
#include <cstddef>
#include <vector>

#include <duet/coro/task.hpp>
#include <duet/loop/event_loop.hpp>

#include "loop/loop_support.hpp"

using duet_test::detached;

namespace {

std::vector<std::byte> bytes_of(std::size_t n, unsigned seed) {
  std::vector<std::byte> out(n);
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<std::byte>((i * 131 + seed) & 0xff);
  return out;
}

}  // namespace

TEST_CASE("a memory pair is a transport and needs no event_loop header", "[transport]") {
  STATIC_REQUIRE(duet::transport<duet::memory_stream>);
}

TEST_CASE("a write larger than the pair's capacity waits for the peer to read", "[transport]") {
  duet::event_loop loop;
  duet_test::watchdog guard(loop);
  auto [a, b] = duet::make_memory_pair(loop, 16);
  const auto payload = bytes_of(100, 3);
  bool write_done = false;
  [](duet::memory_stream& s, const std::vector<std::byte>& data, bool& done) -> detached {
    const duet::const_buffer piece(data);
    const auto r = co_await s.write(std::span<const duet::const_buffer>(&piece, 1));
    done = !r.error && r.bytes == data.size();
  }(a, payload, write_done);
  CHECK_FALSE(write_done);  // 16 bytes fit, 84 wait
  auto reader = [&]() -> duet::task<std::vector<std::byte>> {
    std::vector<std::byte> got;
    std::array<std::byte, 7> buffer{};
    while (got.size() < payload.size()) {
      const auto r = co_await b.read_some(buffer);
      if (r.error || r.bytes == 0) break;
      CHECK(r.bytes <= buffer.size());
      got.insert(got.end(), buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(r.bytes));
    }
    co_await loop.schedule();  // let the writer's completion run
    co_return got;
  };
  CHECK(loop.block_on(reader()) == payload);
  CHECK(write_done);
}

TEST_CASE("closing a memory end fails the peer's writes with broken_pipe", "[transport]") {
  duet::event_loop loop;
  auto [a, b] = duet::make_memory_pair(loop);
  b.close();
  auto body = [&]() -> duet::task<duet::io_result> {
    const std::array<std::byte, 4> data{};
    const duet::const_buffer piece(data);
    co_return co_await a.write(std::span<const duet::const_buffer>(&piece, 1));
  };
  CHECK(loop.block_on(body()).error == std::errc::broken_pipe);
}

TEST_CASE("a memory stream moved from is closed and its operations fail", "[transport]") {
  duet::event_loop loop;
  auto [a, b] = duet::make_memory_pair(loop);
  duet::memory_stream c = std::move(a);
  CHECK(c.is_open());
  CHECK_FALSE(a.is_open());  // NOLINT(bugprone-use-after-move): tested on purpose
  auto body = [&]() -> duet::task<duet::io_result> {
    std::array<std::byte, 4> buffer{};
    co_return co_await a.read_some(buffer);
  };
  CHECK(loop.block_on(body()).error == std::errc::operation_canceled);
}
