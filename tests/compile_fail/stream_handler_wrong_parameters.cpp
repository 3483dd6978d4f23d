// expect-error: the handler does not fit the stream method
// A server stream's handler takes the method's arguments, then a writer.
#include <duet/coro/task.hpp>
#include <duet/rpc/router.hpp>

#include <cstdint>

inline constexpr duet::method<"feed", duet::stream<int>(std::uint32_t)> feed;

int main() {
  duet::router router;
  router.on(feed, [](std::uint32_t, duet::stream_reader<int>&) -> duet::task<void> { co_return; });
}
