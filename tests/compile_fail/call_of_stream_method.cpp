// expect-error: the method is a stream: open it with co_await client.open
// A stream method is opened, not called.
#include <duet/rpc/client.hpp>
#include <duet/transport/memory.hpp>

#include <cstdint>
#include <utility>

inline constexpr duet::method<"feed", duet::stream<int>(std::uint32_t)> feed;

int main() {
  duet::event_loop loop;
  auto [a, b] = duet::make_memory_pair(loop);
  duet::client<duet::memory_stream> client(loop, std::move(a));
  auto call = client.call(feed, 3u);
  (void)call;
}
