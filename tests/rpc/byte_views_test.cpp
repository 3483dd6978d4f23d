// Large byte payloads without copies of one's own: a plain handler may take
// and return views of the request's bytes, and the calling side, declaring
// the same method with owning types of the same wire form, gets a copy it owns.

#include <catch2/catch.hpp>

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <duet/rpc/method.hpp>

#include "rpc/rig.hpp"

namespace byte_views_test {

namespace {

using bytes_view = std::span<const std::byte>;
constexpr duet::method<"views.echo", bytes_view(bytes_view)> echo_in_place;           // the server's
constexpr duet::method<"views.echo", std::vector<std::byte>(bytes_view)> echo_bytes;  // the client's
constexpr duet::method<"views.tail", std::string_view(std::string_view, int)> tail_in_place;
constexpr duet::method<"views.tail", std::string(std::string_view, int)> tail;

std::vector<std::byte> pattern(std::size_t n, unsigned salt) {
  std::vector<std::byte> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::byte>((i * 131 + salt) & 0xff);
  return v;
}

}  // namespace

TEST_CASE("a plain handler echoes a large payload from a view and the caller owns the copy", "[rpc]") {
  rig r;
  const std::byte* seen = nullptr;
  r.router.on(echo_in_place, [&](bytes_view payload) {
    seen = payload.data();
    return payload;
  });
  auto client = r.connect();
  const std::vector<std::byte> big = pattern(3u << 20, 7);  // spans many reads of the transport
  const std::vector<std::byte> small = pattern(5, 1);
  std::vector<std::byte> echoed_big;
  std::vector<std::byte> echoed_small;
  std::vector<std::byte> echoed_empty{std::byte{1}};
  r.run([&]() -> duet::task<void> {
    echoed_big = co_await client.call(echo_bytes, bytes_view(big));
    echoed_small = co_await client.call(echo_bytes, bytes_view(small));
    echoed_empty = co_await client.call(echo_bytes, bytes_view{});
    co_await client.close();
  });
  CHECK(echoed_big == big);
  CHECK(echoed_small == small);
  CHECK(echoed_empty.empty());
  // The handler saw the bytes in the connection's buffer, not in the caller's vectors.
  CHECK(seen != nullptr);
  CHECK(seen != small.data());
}

TEST_CASE("a string_view argument and result work like std::string on the wire", "[rpc]") {
  rig r;
  r.router.on(tail_in_place, [](std::string_view text, int n) {
    return text.substr(text.size() - static_cast<std::size_t>(n));
  });
  auto client = r.connect();
  std::string got;
  r.run([&]() -> duet::task<void> {
    got = co_await client.call(tail, std::string_view("hello, world"), 5);
    co_await client.close();
  });
  CHECK(got == "world");
}

}  // namespace byte_views_test
