// expect-error: the arguments do not fit the method
// A server stream is opened with exactly the method's arguments.
#include <duet/rpc/client.hpp>
#include <duet/transport/memory.hpp>

#include <string>
#include <utility>

inline constexpr duet::method<"feed", duet::stream<int>(std::string)> feed;

int main() {
  duet::event_loop loop;
  auto [a, b] = duet::make_memory_pair(loop);
  duet::client<duet::memory_stream> client(loop, std::move(a));
  auto opened = client.open(feed, 1, 2);
  (void)opened;
}
