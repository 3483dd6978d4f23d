// A program that uses duet the way a user's project does: only through the
// installed (or subproject) package, with none of duet's own build flags.
// It encodes and decodes a struct, runs a task with sync_wait, and makes two
// calls from a client to a server over an in-memory connection.
#include <duet/duet.hpp>

#include <cstdio>
#include <string>
#include <utility>
#include <vector>

namespace {

struct point {
  std::string name;
  int x = 0;
  std::vector<double> tags;
};

inline constexpr duet::method<"consumer.add", int(int, int)> add;
inline constexpr duet::method<"consumer.greet", std::string(std::string)> greet;

duet::task<int> twice(int n) { co_return 2 * n; }

duet::task<int> add_twice(int a, int b) { co_return co_await twice(a) + co_await twice(b); }

duet::task<bool> talk(duet::event_loop& loop, duet::server& server, duet::async_scope& connections) {
  auto [near_end, far_end] = duet::make_memory_pair(loop);
  connections.spawn(server.serve_connection(std::move(far_end)));
  duet::client<duet::memory_stream> client(loop, std::move(near_end));
  const int sum = co_await client.call(add, 40, 2);
  const std::string greeting = co_await client.call(greet, "consumer");
  co_await client.close();
  server.stop();
  co_await connections.join();
  co_return sum == 42 && greeting == "hello, consumer";
}

}  // namespace

int main() {
  const point in{"origin", -3, {0.5, 1.5}};
  duet::byte_vector bytes;
  duet::byte_writer writer(bytes);
  duet::encode(writer, in);
  point out;
  if (!duet::decode_all(bytes, out) || out.name != in.name || out.x != in.x || out.tags != in.tags) {
    std::puts("consumer: codec round trip failed");
    return 1;
  }

  if (duet::sync_wait(add_twice(20, 1)) != 42) {
    std::puts("consumer: task result is wrong");
    return 1;
  }

  duet::event_loop loop;
  duet::router router;
  router.on(add, [](int a, int b) { return a + b; });
  router.on(greet, [](std::string name) { return "hello, " + name; });
  duet::server server(loop, router);
  duet::async_scope connections;
  if (!loop.block_on(talk(loop, server, connections))) {
    std::puts("consumer: rpc over a memory pair gave wrong answers");
    return 1;
  }

  std::printf("consumer: duet %d.%d.%d, protocol %u, ok\n", DUET_VERSION_MAJOR, DUET_VERSION_MINOR,
              DUET_VERSION_PATCH, duet::protocol_version);
  return 0;
}
