// expect-error: the method is not a stream: call it with co_await client.call
// A unary method is called, not opened.
#include <duet/rpc/client.hpp>
#include <duet/transport/memory.hpp>

#include <utility>

inline constexpr duet::method<"add", int(int, int)> add;

int main() {
  duet::event_loop loop;
  auto [a, b] = duet::make_memory_pair(loop);
  duet::client<duet::memory_stream> client(loop, std::move(a));
  auto opened = client.open(add, 1, 2);
  (void)opened;
}
