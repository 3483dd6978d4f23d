// One conformance suite, run over every transport model and both reactor
// backends: what the session relies on from any transport.

#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <random>
#include <span>
#include <string_view>
#include <vector>

#include <duet/coro/task.hpp>
#include <duet/coro/when_all.hpp>
#include <duet/loop/event_loop.hpp>
#include <duet/transport/transport.hpp>

#include "loop/loop_support.hpp"
#include "support/text.hpp"
#include "transport/transport_models.hpp"

using duet_test::detached;

namespace {

std::vector<std::byte> pattern(std::size_t n, unsigned seed) {
  std::vector<std::byte> out(n);
  std::mt19937 random(seed);
  for (auto& b : out) b = static_cast<std::byte>(random() & 0xff);
  return out;
}

using duet_test::text;

template <class Stream>
duet::task<duet::io_result> write_all(Stream& stream, std::span<const std::byte> bytes) {
  const duet::const_buffer piece(bytes);
  co_return co_await stream.write(std::span<const duet::const_buffer>(&piece, 1));
}

// Reads until `count` bytes, end of stream or an error (bounded by count).
template <class Stream>
duet::task<std::vector<std::byte>> read_exactly(Stream& stream, std::size_t count) {
  std::vector<std::byte> got(count);
  std::size_t have = 0;
  while (have < count) {
    const duet::io_result r = co_await stream.read_some(std::span<std::byte>(got).subspan(have));
    if (r.error || r.bytes == 0) break;
    have += r.bytes;
  }
  got.resize(have);
  co_return got;
}

}  // namespace

TEMPLATE_TEST_CASE("bytes arrive in order across many reads and writes of random sizes", "[transport]",
                   duet_test::memory_model, duet_test::tcp_v4_model, duet_test::tcp_v6_model,
                   duet_test::unix_model) {
  duet::event_loop loop(duet_test::any_backend());
  duet_test::watchdog guard(loop);
  auto pair = loop.block_on(TestType::make(loop));
  if (!pair) return;
  auto& [writer, reader] = *pair;
  const auto payload = pattern(1 << 20, 7);
  bool writer_ok = false;

  [](auto& stream, const std::vector<std::byte>& data, bool& ok) -> detached {
    std::mt19937 random(11);
    std::size_t sent = 0;
    ok = true;
    while (sent < data.size() && ok) {
      // A gather list of 1..3 pieces of 1..64 KiB.
      std::array<duet::const_buffer, 3> pieces;
      const std::size_t count = 1 + random() % 3;
      std::size_t total = 0;
      for (std::size_t i = 0; i < count; ++i) {
        const std::size_t size = std::min<std::size_t>(1 + random() % 65536, data.size() - sent - total);
        pieces[i] = std::span<const std::byte>(data).subspan(sent + total, size);
        total += size;
      }
      const auto r = co_await stream.write(std::span<const duet::const_buffer>(pieces.data(), count));
      ok = !r.error && r.bytes == total;
      sent += total;
    }
    stream.close();
  }(writer, payload, writer_ok);

  auto read_all = [&]() -> duet::task<std::vector<std::byte>> {
    std::mt19937 random(13);
    std::vector<std::byte> got;
    std::vector<std::byte> buffer(100'000);
    for (int reads = 0; reads < 10'000'000; ++reads) {
      const std::size_t size = 1 + random() % buffer.size();
      const auto r = co_await reader.read_some(std::span<std::byte>(buffer.data(), size));
      REQUIRE_FALSE(r.error);
      if (r.bytes == 0) break;
      REQUIRE(r.bytes <= size);
      got.insert(got.end(), buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(r.bytes));
    }
    co_return got;
  };
  const auto got = loop.block_on(read_all());
  REQUIRE_FALSE(guard.fired());
  CHECK(writer_ok);
  CHECK(got.size() == payload.size());
  CHECK(got == payload);
}

TEMPLATE_TEST_CASE("a gather write of thousands of buffers arrives whole and in order", "[transport]",
                   duet_test::memory_model, duet_test::tcp_v4_model, duet_test::tcp_v6_model,
                   duet_test::unix_model) {
  duet::event_loop loop(duet_test::any_backend());
  duet_test::watchdog guard(loop);
  auto pair = loop.block_on(TestType::make(loop));
  if (!pair) return;
  auto& [a, b] = *pair;
  const auto payload = pattern(3000 * 4, 3);
  std::vector<duet::const_buffer> pieces;
  std::size_t offset = 0;
  for (std::size_t i = 0; offset < payload.size(); ++i) {
    const std::size_t size = std::min<std::size_t>(i % 8, payload.size() - offset);  // includes empty pieces
    pieces.push_back(std::span<const std::byte>(payload).subspan(offset, size));
    offset += size;
  }
  REQUIRE(pieces.size() > 2048);  // more than one gather system call's worth
  auto body = [&]() -> duet::task<std::vector<std::byte>> {
    const auto r = co_await a.write(pieces);
    REQUIRE_FALSE(r.error);
    CHECK(r.bytes == payload.size());
    co_return co_await read_exactly(b, payload.size());
  };
  CHECK(loop.block_on(body()) == payload);
}

TEMPLATE_TEST_CASE("the peer's close gives end of stream after the bytes it sent", "[transport]",
                   duet_test::memory_model, duet_test::tcp_v4_model, duet_test::tcp_v6_model,
                   duet_test::unix_model) {
  duet::event_loop loop(duet_test::any_backend());
  duet_test::watchdog guard(loop);
  auto pair = loop.block_on(TestType::make(loop));
  if (!pair) return;
  auto& [a, b] = *pair;
  auto body = [&]() -> duet::task<bool> {
    const auto w = co_await write_all(a, text("hello"));
    REQUIRE(w.bytes == 5);
    a.close();
    const auto got = co_await read_exactly(b, 5);
    CHECK(got.size() == 5);
    std::array<std::byte, 16> buffer{};
    const auto end1 = co_await b.read_some(buffer);
    const auto end2 = co_await b.read_some(buffer);
    co_return end1.bytes == 0 && !end1.error && end2.bytes == 0 && !end2.error;
  };
  CHECK(loop.block_on(body()));
}

TEMPLATE_TEST_CASE("a waiting reader gets the last bytes and then the end of stream that came with them", "[transport]",
                   duet_test::memory_model, duet_test::tcp_v4_model, duet_test::tcp_v6_model,
                   duet_test::unix_model) {
  // The bytes and the hang-up reach a waiting reader together; the read that
  // takes the bytes is short, and the next must still see the end, not wait.
  duet::event_loop loop(duet_test::any_backend());
  duet_test::watchdog guard(loop);
  auto pair = loop.block_on(TestType::make(loop));
  if (!pair) return;
  auto& [a, b] = *pair;
  auto reader = [&]() -> duet::task<bool> {
    std::array<std::byte, 64> buffer{};
    const auto data = co_await b.read_some(buffer);
    const auto end = co_await b.read_some(buffer);
    co_return data.bytes == 5 && !data.error && end.bytes == 0 && !end.error;
  };
  auto writer = [&]() -> duet::task<bool> {
    const auto w = co_await write_all(a, text("hello"));
    a.close();
    co_return w.bytes == 5;
  };
  auto both = [&]() -> duet::task<bool> {
    auto [read_ok, write_ok] = co_await duet::when_all(reader(), writer());
    co_return read_ok && write_ok;
  };
  CHECK(loop.block_on(both()));
}

TEMPLATE_TEST_CASE("close wakes a pending read with operation_canceled", "[transport]", duet_test::memory_model,
                   duet_test::tcp_v4_model, duet_test::tcp_v6_model, duet_test::unix_model) {
  duet::event_loop loop(duet_test::any_backend());
  duet_test::watchdog guard(loop);
  auto pair = loop.block_on(TestType::make(loop));
  if (!pair) return;
  auto& [a, b] = *pair;
  std::optional<duet::io_result> result;
  std::array<std::byte, 16> buffer{};
  [](auto& stream, std::span<std::byte> into, std::optional<duet::io_result>& out) -> detached {
    out = co_await stream.read_some(into);
  }(a, buffer, result);
  REQUIRE_FALSE(result);  // nothing to read: it waits
  auto body = [&]() -> duet::task<void> {
    a.close();
    CHECK_FALSE(result);  // not resumed inside close()
    co_await loop.schedule();  // posted after the reader's wake-up
  };
  loop.block_on(body());
  REQUIRE(result);
  CHECK(result->error == std::errc::operation_canceled);
  CHECK(result->bytes == 0);
  (void)b;
}

TEMPLATE_TEST_CASE("close wakes a pending write with operation_canceled", "[transport]", duet_test::memory_model,
                   duet_test::tcp_v4_model, duet_test::tcp_v6_model, duet_test::unix_model) {
  duet::event_loop loop(duet_test::any_backend());
  duet_test::watchdog guard(loop);
  auto pair = loop.block_on(TestType::make(loop));
  if (!pair) return;
  auto& [a, b] = *pair;
  if constexpr (TestType::has_fds) {
    // Small kernel buffers so the write below cannot fit.
    duet::detail::set_option(a.native_handle(), SOL_SOCKET, SO_SNDBUF, 4096);
    duet::detail::set_option(b.native_handle(), SOL_SOCKET, SO_RCVBUF, 4096);
  }
  const std::vector<std::byte> big(8 << 20);  // far more than any buffer: it must wait
  std::optional<duet::io_result> result;
  [](auto& stream, const std::vector<std::byte>& data, std::optional<duet::io_result>& out) -> detached {
    const duet::const_buffer piece(data);
    out = co_await stream.write(std::span<const duet::const_buffer>(&piece, 1));
  }(a, big, result);
  REQUIRE_FALSE(result);
  auto body = [&]() -> duet::task<void> {
    a.close();
    co_await loop.schedule();
  };
  loop.block_on(body());
  REQUIRE(result);
  CHECK(result->error == std::errc::operation_canceled);
}

TEMPLATE_TEST_CASE("operations on a closed stream fail with operation_canceled", "[transport]",
                   duet_test::memory_model, duet_test::tcp_v4_model, duet_test::unix_model) {
  duet::event_loop loop(duet_test::any_backend());
  auto pair = loop.block_on(TestType::make(loop));
  REQUIRE(pair);
  auto& [a, b] = *pair;
  a.close();
  a.close();  // idempotent
  auto body = [&]() -> duet::task<bool> {
    std::array<std::byte, 4> buffer{};
    const auto r = co_await a.read_some(buffer);
    const auto w = co_await write_all(a, text("x"));
    co_return r.error == std::errc::operation_canceled && w.error == std::errc::operation_canceled;
  };
  CHECK(loop.block_on(body()));
  (void)b;
}

TEMPLATE_TEST_CASE("writing to a closed peer fails instead of hanging or raising SIGPIPE", "[transport]",
                   duet_test::memory_model, duet_test::tcp_v4_model, duet_test::unix_model) {
  duet::event_loop loop(duet_test::any_backend());
  duet_test::watchdog guard(loop);
  auto pair = loop.block_on(TestType::make(loop));
  REQUIRE(pair);
  auto& [a, b] = *pair;
  b.close();
  auto body = [&]() -> duet::task<std::error_code> {
    const std::vector<std::byte> chunk(64 * 1024);
    // TCP may accept a first write before the peer's reset comes back.
    for (int i = 0; i < 1000; ++i) {
      const auto r = co_await write_all(a, chunk);
      if (r.error) co_return r.error;
    }
    co_return std::error_code{};
  };
  const std::error_code error = loop.block_on(body());
  CHECK(error);
  CHECK(error != std::errc::operation_canceled);
}

TEST_CASE("every model is a transport; other types are not", "[transport]") {
  STATIC_REQUIRE(duet::transport<duet::tcp_stream>);
  STATIC_REQUIRE(duet::transport<duet::unix_stream>);
  STATIC_REQUIRE(duet::transport<duet::memory_stream>);
  STATIC_REQUIRE(duet::listener<duet::tcp_listener>);
  STATIC_REQUIRE(duet::listener<duet::unix_listener>);
  STATIC_REQUIRE(!duet::transport<int>);
  STATIC_REQUIRE(!duet::transport<duet::tcp_listener>);
  STATIC_REQUIRE(!duet::listener<duet::tcp_stream>);
  STATIC_REQUIRE(duet::readable_stream<duet::tcp_stream>);
  STATIC_REQUIRE(duet::writable_stream<duet::tcp_stream>);
  STATIC_REQUIRE(duet::closable_stream<duet::tcp_stream>);
}
