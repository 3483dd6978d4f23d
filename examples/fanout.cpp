// Fans out 10,000 concurrent calls (or argv[1]) over one TCP connection to a
// server running on its own thread, checks every answer, and prints the rate.
#include <duet/duet.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

inline constexpr duet::method<"fanout.square", std::uint64_t(std::uint64_t)> square;

duet::task<int> fan_out(duet::event_loop& loop, duet::endpoint server, std::uint64_t calls) {
  duet::client client(loop, (co_await duet::tcp_stream::connect(loop, server)).value());

  const auto start = std::chrono::steady_clock::now();
  std::vector<duet::task<duet::result<std::uint64_t>>> pending;
  pending.reserve(calls);
  for (std::uint64_t i = 0; i < calls; ++i) pending.push_back(client.try_call(square, i));
  // Every call is issued before any answer is awaited: all are in flight at once.
  std::vector<duet::result<std::uint64_t>> answers = co_await duet::when_all(std::move(pending));
  const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;

  std::uint64_t wrong = 0;
  for (std::uint64_t i = 0; i < calls; ++i) {
    const duet::result<std::uint64_t>& answer = answers[i];
    if (!answer || *answer != i * i) {
      if (wrong++ < 5) std::printf("call %llu: %s\n", static_cast<unsigned long long>(i), answer.error().to_string().c_str());
    }
  }
  std::printf("%llu concurrent calls over one connection in %.3f s: %.0f calls/s, %llu wrong\n",
              static_cast<unsigned long long>(calls), elapsed.count(), static_cast<double>(calls) / elapsed.count(),
              static_cast<unsigned long long>(wrong));
  co_await client.close();
  co_return wrong == 0 ? 0 : 1;
}

int main(int argc, char** argv) {
  const std::uint64_t calls = argc > 1 ? std::stoull(argv[1]) : 10000;

  duet::event_loop server_loop;
  duet::router router;
  router.on(square, [](std::uint64_t x) { return x * x; });
  duet::server server(server_loop, router);
  auto listener = duet::tcp_listener::listen(server_loop, duet::endpoint::loopback_v4(0));
  const duet::endpoint where = listener.local_endpoint();
  std::thread server_thread([&] { server_loop.block_on(server.serve(std::move(listener))); });

  duet::event_loop loop;
  const int status = loop.block_on(fan_out(loop, where, calls));

  // stop() belongs to the server's loop thread: hop there to call it.
  duet::sync_wait([&]() -> duet::task<void> {
    co_await server_loop.schedule();
    server.stop();
  }());
  server_thread.join();
  return status;
}
