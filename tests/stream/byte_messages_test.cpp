// Messages that are bytes (a span or a string): sent with one copy, viewed
// where they arrived.

#include "rpc/rig.hpp"

#include <duet/duet.hpp>

#include <catch2/catch.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace {

using bytes_view = std::span<const std::byte>;

/// Sends messages of 0, 1, 2, ... up to the asked size - 1 bytes, message n
/// filled with the byte n % 251.
inline constexpr duet::method<"bytes.sizes", duet::stream<bytes_view>(std::uint32_t)> sizes;
/// Sends one message of the asked size, then (whether that went or not)
/// one of 3 bytes.
inline constexpr duet::method<"bytes.large", duet::stream<std::string>(std::uint32_t)> large;

void serve(duet::router& router, std::string& large_error) {
  router.on(sizes, [](std::uint32_t count, duet::stream_writer<bytes_view>& out) -> duet::task<void> {
    std::vector<std::byte> buffer(count);
    for (std::uint32_t n = 0; n < count; ++n) {
      for (std::uint32_t i = 0; i < n; ++i) buffer[i] = static_cast<std::byte>(n % 251);
      const bytes_view message(buffer.data(), n);
      const bool sent = co_await out.send(message);
      if (!sent) co_return;
    }
  });
  router.on(large, [&large_error](std::uint32_t size, duet::stream_writer<std::string>& out) -> duet::task<void> {
    const std::string big(size, 'x');
    try {
      const bool sent = co_await out.send(big);
      (void)sent;
    } catch (const duet::rpc_error& e) {
      large_error = std::string(duet::to_string(e.status().code()));
    }
    const std::string small = "end";
    const bool sent = co_await out.send(small);
    (void)sent;
  });
}

}  // namespace

TEST_CASE("byte messages of every size around the one-byte count arrive whole and in order", "[stream]") {
  rig r;
  std::string large_error;
  serve(r.router, large_error);
  r.run([&]() -> duet::task<void> {
    auto client = r.connect();
    constexpr std::uint32_t count = 300;  // counts of one and of two bytes
    auto s = co_await client.open(sizes, count);
    std::uint32_t n = 0;
    bool whole = true;
    for (;;) {
      std::optional<bytes_view> m = co_await s.next();
      if (!m) break;
      if (m->size() != n) whole = false;
      for (std::byte b : *m) {
        if (b != static_cast<std::byte>(n % 251)) whole = false;
      }
      ++n;
    }
    CHECK(n == count);
    CHECK(whole);
    duet::result<void> end = co_await s.finish();
    CHECK(end.has_value());
    co_await client.close();
  });
}

TEST_CASE("a byte message larger than the peer accepts fails its send with resource_exhausted, and the stream goes on",
          "[stream]") {
  rig r;
  std::string large_error;
  serve(r.router, large_error);
  r.run([&]() -> duet::task<void> {
    duet::session_options small_frames;
    small_frames.max_frame_size = duet::min_max_frame_size;
    auto client = r.connect(small_frames);
    auto s = co_await client.open(large, std::uint32_t{duet::min_max_frame_size});
    std::optional<std::string> m = co_await s.next();
    REQUIRE(m.has_value());
    CHECK(*m == "end");
    std::optional<std::string> after = co_await s.next();
    CHECK_FALSE(after.has_value());
    duet::result<void> end = co_await s.finish();
    CHECK(end.has_value());
    CHECK(large_error == duet::to_string(duet::status_code::resource_exhausted));
    co_await client.close();
  });
}
