// The client and server end to end over real sockets: TCP on IPv4 and IPv6
// loopback, and Unix-domain sockets, on both reactor backends.
#include "rig.hpp"

#include <duet/coro/async_event.hpp>
#include <duet/coro/when_all.hpp>
#include <duet/transport/tcp.hpp>
#include <duet/transport/unix.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <string>
#include <system_error>
#include <unistd.h>
#include <vector>

namespace socket_transports_test {

using namespace rig_methods;

namespace {

struct over_tcp_v4 {
  using stream = duet::tcp_stream;
  static duet::tcp_listener listen(duet::event_loop& loop) {
    return duet::tcp_listener::listen(loop, duet::endpoint::loopback_v4(0));
  }
};

struct over_tcp_v6 {
  using stream = duet::tcp_stream;
  static duet::tcp_listener listen(duet::event_loop& loop) {
    return duet::tcp_listener::listen(loop, duet::endpoint::loopback_v6(0));
  }
};

struct over_unix {
  using stream = duet::unix_stream;
  static duet::unix_listener listen(duet::event_loop& loop) {
    static std::atomic<int> counter{0};
    const std::string path = "/tmp/duet-rpc-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + ".sock";
    return duet::unix_listener::listen(loop, duet::endpoint::unix_socket(path));
  }
};

template <class Over>
bool available(duet::event_loop& loop) {
  try {
    auto probe = Over::listen(loop);
    probe.close();
    return true;
  } catch (const std::system_error&) {
    return false;
  }
}

template <class Over>
duet::task<duet::client<typename Over::stream>> connect(duet::event_loop& loop, const duet::endpoint& where) {
  auto stream = co_await Over::stream::connect(loop, where);
  REQUIRE(stream.has_value());
  co_return duet::client<typename Over::stream>(loop, std::move(*stream));
}

}  // namespace

TEMPLATE_TEST_CASE("concurrent calls from several clients over sockets each reach their caller", "[rpc][socket]",
                   over_tcp_v4, over_tcp_v6, over_unix) {
  const auto backend = GENERATE(duet::reactor_kind::epoll, duet::reactor_kind::poll);
  duet::event_loop loop(backend);
  if (!available<TestType>(loop)) {
    WARN("this machine cannot listen on this transport's loopback address; skipped");
    return;
  }
  duet::router router;
  router.on(add, [&loop](int a, int b) -> duet::task<int> {
    if (a % 3 == 0) co_await loop.schedule();  // answer out of arrival order
    co_return a + b;
  });
  router.on(echo, [](std::string s) { return s; });
  duet::server server(loop, router);

  loop.block_on([&]() -> duet::task<void> {
    auto listener = TestType::listen(loop);
    const duet::endpoint where = listener.local_endpoint();
    duet::async_scope serving;
    serving.spawn(server.serve(std::move(listener)));

    auto one_client = [&](int salt) -> duet::task<void> {
      auto c = co_await connect<TestType>(loop, where);
      std::vector<duet::task<int>> calls;
      for (int i = 0; i < 300; ++i) calls.push_back(c.call(add, i, salt));
      const std::vector<int> sums = co_await duet::when_all(std::move(calls));
      for (int i = 0; i < 300; ++i) REQUIRE(sums[static_cast<std::size_t>(i)] == i + salt);
      const std::string big(200000, static_cast<char>('a' + salt));
      const std::string back = co_await c.call(echo, big);
      CHECK(back == big);
      co_await c.close();
    };
    co_await duet::when_all(one_client(1), one_client(2), one_client(3), one_client(4));
    server.stop();
    co_await serving.join();
  }());
}

TEMPLATE_TEST_CASE("a server over sockets stops cleanly with connections open and ends their calls", "[rpc][socket]",
                   over_tcp_v4, over_unix) {
  duet::event_loop loop;
  duet::router router;
  duet::async_event never;
  duet::async_event arrived;
  router.on(echo, [&](std::string s) -> duet::task<std::string> {
    arrived.set();
    co_await never;
    co_return s;
  });
  router.on(add, [](int a, int b) { return a + b; });
  duet::server server(loop, router);

  loop.block_on([&]() -> duet::task<void> {
    auto listener = TestType::listen(loop);
    const duet::endpoint where = listener.local_endpoint();
    duet::async_scope serving;
    serving.spawn(server.serve(std::move(listener)));

    std::vector<duet::client<typename TestType::stream>> idle;
    for (int i = 0; i < 20; ++i) {
      idle.push_back(co_await connect<TestType>(loop, where));
      const int sum = co_await idle.back().call(add, i, i);
      REQUIRE(sum == 2 * i);
    }
    CHECK(server.connection_count() == 20);

    auto busy = co_await connect<TestType>(loop, where);
    auto pending = [&]() -> duet::task<void> {
      duet::result<std::string> r = co_await busy.try_call(echo, "held");
      CHECK(r.code() == duet::status_code::unavailable);
    };
    auto stopper = [&]() -> duet::task<void> {
      co_await arrived;
      server.stop();
      never.set();  // the held handler may finish; its answer has nowhere to go
    };
    co_await duet::when_all(pending(), stopper());
    co_await serving.join();
    CHECK(server.connection_count() == 0);

    // New connections are refused once the listener is closed.
    auto refused = co_await TestType::stream::connect(loop, where);
    CHECK_FALSE(refused.has_value());

    for (auto& c : idle) co_await c.close();
    co_await busy.close();
  }());
}

}  // namespace socket_transports_test
