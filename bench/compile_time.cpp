// The translation unit of issue 3, part 5: what a user of duet writes for a
// small service with a server and a client in one program. bench/compile_time.sh
// times compiling it (g++ -std=c++20 -O2 -c); the bench build also compiles
// and links it as duet_bench_compile_time, so it keeps up with the API. It is
// never run by the benchmark scripts, but it does work when run: it serves on
// an ephemeral loopback port, makes every call once and checks the answers
// (exit status 0 when all are right).
//
// It includes the public headers a user would (client, server, router and
// the TCP transport), declares four methods over std::string, int, a small
// aggregate and std::vector, and registers a plain and a coroutine handler.
#include <duet/coro/sync_wait.hpp>
#include <duet/coro/task.hpp>
#include <duet/loop/event_loop.hpp>
#include <duet/rpc/client.hpp>
#include <duet/rpc/method.hpp>
#include <duet/rpc/router.hpp>
#include <duet/rpc/server.hpp>
#include <duet/transport/tcp.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace shop {

struct item {
  std::string name;
  std::uint32_t quantity = 0;
  double price = 0;
};

struct order_total {
  std::uint64_t items = 0;
  double amount = 0;
};

inline constexpr duet::method<"shop.greet", std::string(std::string)> greet;
inline constexpr duet::method<"shop.add", int(int, int)> add;
inline constexpr duet::method<"shop.total", order_total(std::vector<item>)> total;
inline constexpr duet::method<"shop.sorted_ids", std::vector<std::uint32_t>(std::vector<std::uint32_t>, bool)>
    sorted_ids;

duet::task<int> run_client(duet::event_loop& loop, duet::endpoint where) {
  auto stream = co_await duet::tcp_stream::connect(loop, where);
  if (!stream) {
    std::fprintf(stderr, "connect: %s\n", stream.error().message().c_str());
    co_return 1;
  }
  duet::client client(loop, std::move(stream).value());
  int failures = 0;

  const std::string greeting = co_await client.call(greet, "duet");
  failures += greeting != "hello, duet";

  const int sum = co_await client.call(add, 40, 2);
  failures += sum != 42;

  // The vectors are built outside the co_await expressions: g++ 12 rejects a
  // braced list that makes an std::initializer_list inside one ("array used
  // as initializer").
  std::vector<item> basket{{"pen", 3, 1.5}, {"ink", 1, 4.0}};
  const order_total t = co_await client.call(total, std::move(basket));
  failures += t.items != 4 || t.amount != 8.5;

  std::vector<std::uint32_t> unsorted{3, 1, 2};
  const duet::result<std::vector<std::uint32_t>> ids = co_await client.try_call(sorted_ids, std::move(unsorted), true);
  failures += !ids || *ids != std::vector<std::uint32_t>{3, 2, 1};

  co_await client.close();
  co_return failures;
}

}  // namespace shop

int main() {
  using namespace shop;
  duet::event_loop server_loop;
  duet::router router;
  router.on(greet, [](std::string name) { return "hello, " + name; });
  router.on(add, [](int a, int b) { return a + b; });
  router.on(total, [](std::vector<item> items) -> duet::task<order_total> {
    order_total t;
    for (const item& i : items) {
      t.items += i.quantity;
      t.amount += i.quantity * i.price;
    }
    co_return t;
  });
  router.on(sorted_ids, [](std::vector<std::uint32_t> ids, bool descending) {
    std::sort(ids.begin(), ids.end());
    if (descending) std::reverse(ids.begin(), ids.end());
    return ids;
  });

  duet::server server(server_loop, router);
  auto listener = duet::tcp_listener::listen(server_loop, duet::endpoint::loopback_v4(0));
  const duet::endpoint where = listener.local_endpoint();
  std::thread server_thread([&] { server_loop.block_on(server.serve(std::move(listener))); });

  int failures = 1;
  try {
    duet::event_loop loop;
    failures = loop.block_on(run_client(loop, where));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "client: %s\n", e.what());
  }

  duet::sync_wait([&]() -> duet::task<void> {
    co_await server_loop.schedule();
    server.stop();
  }());
  server_thread.join();
  std::printf("%s\n", failures == 0 ? "ok" : "FAILED");
  return failures == 0 ? 0 : 1;
}
