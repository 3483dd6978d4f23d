// A rolling restart without a lost call, in one process:
//
// 1. server v1 serves on 127.0.0.1 (a free port); a reconnecting client with
//    keepalive starts 100 slow calls;
// 2. v1 drains: it sends goaway, lets the 100 calls finish and closes;
// 3. server v2 comes up on the same port; the client reconnects by itself
//    and its next calls are answered by v2.
//
// Exits 0 when every call got its answer, 1 otherwise.
#include <duet/duet.hpp>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;

constexpr duet::method<"restart.work", int(int)> work;        // takes a few milliseconds
constexpr duet::method<"restart.version", int()> version;     // which server answered

void serve_version(duet::router& router, duet::event_loop& loop, int v) {
  router.on(version, [v] { return v; });
  router.on(work, [&loop](int x) -> duet::task<int> {
    co_await loop.sleep_for(5ms);
    co_return x + 1;
  });
}

duet::task<int> run(duet::event_loop& loop) {
  int failures = 0;
  duet::router router_v1;
  duet::router router_v2;
  serve_version(router_v1, loop, 1);
  serve_version(router_v2, loop, 2);

  auto listener = duet::tcp_listener::listen(loop, duet::endpoint::loopback_v4(0));
  const duet::endpoint where = listener.local_endpoint();
  duet::server v1(loop, router_v1);
  duet::async_scope serving;
  serving.spawn(v1.serve(std::move(listener)));

  duet::reconnect_options<duet::tcp_stream> how;
  how.connect = duet::connect_to<duet::tcp_stream>(loop, where, 1000ms);
  how.backoff.initial = 10ms;
  how.backoff.max = 100ms;
  duet::session_options keepalive;
  keepalive.keepalive_interval = 1s;
  keepalive.keepalive_timeout = 1s;
  duet::client<duet::tcp_stream> client(loop, std::move(how), keepalive);
  if (!co_await client.wait_connected(2s)) co_return 1;
  const int first = co_await client.call(version);
  std::printf("connected to server v%d at %s\n", first, where.to_string().c_str());

  // 100 calls in flight, then v1 drains.
  std::vector<duet::task<duet::result<int>>> calls;
  for (int i = 0; i < 100; ++i) calls.push_back(client.try_call(work, i));
  auto drain_soon = [&]() -> duet::task<void> {
    co_await loop.sleep_for(2ms);  // the requests are out and running
    v1.drain(2s);
  };
  auto [answers, drained] = co_await duet::when_all(duet::when_all(std::move(calls)), drain_soon());
  (void)drained;
  int answered = 0;
  std::vector<int> refused;  // sent after v1 stopped taking requests: never run, safe to send again
  for (std::size_t i = 0; i < answers.size(); ++i) {
    const int x = static_cast<int>(i);
    if (answers[i] && *answers[i] == x + 1) {
      ++answered;
    } else if (!answers[i] && answers[i].code() == duet::status_code::unavailable) {
      refused.push_back(x);
    } else {
      ++failures;
    }
  }
  co_await serving.join();
  std::printf("v1 drained: %d of 100 calls answered by v1, %zu refused unrun\n", answered, refused.size());

  // v2 on the same port; the client finds it.
  auto listener2 = duet::tcp_listener::listen(loop, where);
  duet::server v2(loop, router_v2);
  serving.spawn(v2.serve(std::move(listener2)));
  if (!co_await client.wait_connected(2s)) co_return 1;
  for (const int x : refused) {
    const duet::result<int> again = co_await client.try_call(work, x);
    if (!again || *again != x + 1) ++failures;
  }
  const int second = co_await client.call(version);
  const int sum = co_await client.call(work, 41);
  std::printf("reconnected to server v%d (%llu connections made), work(41) = %d\n", second,
              static_cast<unsigned long long>(client.connections_made()), sum);
  if (second != 2 || sum != 42) ++failures;

  co_await client.close();
  v2.stop();
  co_await serving.join();
  co_return failures == 0 ? 0 : 1;
}

}  // namespace

int main() {
  duet::event_loop loop;
  const int code = loop.block_on(run(loop));
  std::puts(code == 0 ? "ok" : "FAILED");
  return code;
}
