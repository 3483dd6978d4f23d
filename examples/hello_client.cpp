// Calls the hello server on 127.0.0.1:PORT (default 7000) and prints the answers.
#include "greeter.hpp"

#include <duet/duet.hpp>

#include <cstdint>
#include <cstdio>
#include <string>

duet::task<int> greet(duet::event_loop& loop, duet::endpoint server) {
  duet::client client(loop, (co_await duet::tcp_stream::connect(loop, server)).value());
  const std::string greeting = co_await client.call(hello, "world");
  const int sum = co_await client.call(add, 2, 3);
  std::printf("%s 2 + 3 = %d\n", greeting.c_str(), sum);
  co_await client.close();
  co_return 0;
}

int main(int argc, char** argv) {
  const auto port = static_cast<std::uint16_t>(argc > 1 ? std::stoi(argv[1]) : 7000);
  duet::event_loop loop;
  return loop.block_on(greet(loop, duet::endpoint::loopback_v4(port)));
}
