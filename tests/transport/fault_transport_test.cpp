#include "support/fault_transport.hpp"
#include "support/text.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <string_view>
#include <vector>

#include <duet/coro/task.hpp>
#include <duet/loop/event_loop.hpp>
#include <duet/transport/memory.hpp>

namespace {

using faulty = duet_test::fault_transport<duet::memory_stream>;

using duet_test::text;

duet::task<void> send(duet::memory_stream& stream, std::string_view s) {
  const duet::const_buffer piece(text(s));
  const auto r = co_await stream.write(std::span<const duet::const_buffer>(&piece, 1));
  REQUIRE(r.bytes == s.size());
}

}  // namespace

TEST_CASE("the fault transport is a transport", "[transport]") { STATIC_REQUIRE(duet::transport<faulty>); }

TEST_CASE("the fault transport can deliver one byte per read", "[transport]") {
  duet::event_loop loop;
  auto [a, b] = duet::make_memory_pair(loop);
  duet_test::fault_options options;
  options.max_read_chunk = 1;
  faulty reader(std::move(b), options);
  auto body = [&]() -> duet::task<std::vector<std::size_t>> {
    co_await send(a, "abc");
    std::vector<std::size_t> sizes;
    std::array<std::byte, 16> buffer{};
    for (int i = 0; i < 3; ++i) sizes.push_back((co_await reader.read_some(buffer)).bytes);
    co_return sizes;
  };
  CHECK(loop.block_on(body()) == std::vector<std::size_t>{1, 1, 1});
}

TEST_CASE("the fault transport ends the stream or fails after a byte limit", "[transport]") {
  duet::event_loop loop;
  auto [a, b] = duet::make_memory_pair(loop);
  const bool with_error = GENERATE(false, true);
  duet_test::fault_options options;
  options.read_limit = 4;
  if (with_error) options.read_limit_error = std::make_error_code(std::errc::connection_reset);
  faulty reader(std::move(b), options);
  auto body = [&]() -> duet::task<std::pair<std::size_t, duet::io_result>> {
    co_await send(a, "abcdefgh");
    std::array<std::byte, 16> buffer{};
    const auto first = co_await reader.read_some(buffer);
    const auto after = co_await reader.read_some(buffer);
    co_return std::pair(first.bytes, after);
  };
  const auto [first, after] = loop.block_on(body());
  CHECK(first == 4);
  CHECK(after.bytes == 0);
  CHECK(static_cast<bool>(after.error) == with_error);
}

TEST_CASE("the fault transport fails writes past a byte limit", "[transport]") {
  duet::event_loop loop;
  auto [a, b] = duet::make_memory_pair(loop);
  duet_test::fault_options options;
  options.write_limit = 3;
  faulty writer(std::move(a), options);
  auto body = [&]() -> duet::task<std::pair<duet::io_result, duet::io_result>> {
    const duet::const_buffer piece(text("abc"));
    const auto first = co_await writer.write(std::span<const duet::const_buffer>(&piece, 1));
    const auto second = co_await writer.write(std::span<const duet::const_buffer>(&piece, 1));
    co_return std::pair(first, second);
  };
  const auto [first, second] = loop.block_on(body());
  CHECK(first.bytes == 3);
  CHECK(second.error == std::errc::connection_reset);
  (void)b;
}
