// Serves greeter.hello and greeter.add on 127.0.0.1:PORT (default 7000).
// Prints "ready" once it accepts connections; runs until killed.
#include "greeter.hpp"

#include <duet/duet.hpp>

#include <cstdint>
#include <cstdio>
#include <string>

int main(int argc, char** argv) {
  const auto port = static_cast<std::uint16_t>(argc > 1 ? std::stoi(argv[1]) : 7000);
  duet::event_loop loop;
  duet::router router;
  router.on(hello, [](std::string name) { return "hello, " + name + "!"; });
  router.on(add, [](int a, int b) { return a + b; });

  auto listener = duet::tcp_listener::listen(loop, duet::endpoint::loopback_v4(port));
  duet::server server(loop, router);
  std::puts("ready");
  std::fflush(stdout);
  loop.block_on(server.serve(std::move(listener)));
}
