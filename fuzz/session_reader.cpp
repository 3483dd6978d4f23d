// Feeds arbitrary bytes to a serving session, as a hostile peer would, and
// checks that the server ends that connection (or answers it) without
// crashing, hanging or leaking, and that every coroutine it started ends.
#include <duet/coro/async_scope.hpp>
#include <duet/coro/task.hpp>
#include <duet/coro/when_all.hpp>
#include <duet/loop/event_loop.hpp>
#include <duet/rpc/method.hpp>
#include <duet/rpc/router.hpp>
#include <duet/rpc/server.hpp>
#include <duet/transport/memory.hpp>
#include <duet/wire/native.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace {

inline constexpr duet::method<"fuzz.add", int(int, int)> add;
inline constexpr duet::method<"fuzz.lookup", std::optional<std::string>(std::map<std::string, std::string>, std::string)>
    lookup;
inline constexpr duet::method<"fuzz.later", std::vector<int>(std::vector<int>)> later;
// Streams of each kind (the corpus opens them with method ids of these names).
inline constexpr duet::method<"feed", duet::stream<std::uint8_t>(std::uint8_t)> feed_stream;
inline constexpr duet::method<"fuzz.sum", int(duet::stream<int>)> sum_stream;
inline constexpr duet::method<"fuzz.echo", duet::stream<int>(duet::stream<int>)> echo_stream;

duet::task<void> feed_some(std::uint8_t n, duet::stream_writer<std::uint8_t>& out) {
  for (std::uint8_t i = 0; i < n % 8; ++i) {
    if (!co_await out.send(i)) co_return;
  }
}

duet::task<int> sum_all(duet::stream_reader<int>& in) {
  int total = 0;
  for (int i = 0; i < 100000; ++i) {
    std::optional<int> v = co_await in.next();
    if (!v) break;
    total += *v;
  }
  co_return total;
}

duet::task<void> echo_all(duet::stream_reader<int>& in, duet::stream_writer<int>& out) {
  for (int i = 0; i < 100000; ++i) {
    std::optional<int> v = co_await in.next();
    if (!v) co_return;
    const int back = *v;
    if (!co_await out.send(back)) co_return;
  }
}

duet::task<void> feed(duet::memory_stream& peer, duet::byte_vector bytes) {
  // Write in a few pieces so frames straddle reads.
  std::size_t offset = 0;
  std::size_t piece = 1;
  while (offset < bytes.size()) {
    const std::size_t n = std::min(piece, bytes.size() - offset);
    const duet::const_buffer part(bytes.data() + offset, n);
    const duet::io_result r = co_await peer.write(std::span<const duet::const_buffer>(&part, 1));
    if (r.error) break;
    offset += n;
    piece = piece * 3 + 1;
  }
  peer.close();
}

duet::task<void> drain(duet::memory_stream& peer) {
  std::byte buffer[4096];
  for (int reads = 0; reads < 100000; ++reads) {
    const duet::io_result r = co_await peer.read_some(buffer);
    if (r.error || r.bytes == 0) co_return;
  }
  std::abort();  // the server kept talking to a peer that had left
}

duet::task<std::vector<int>> answer_later(duet::event_loop& loop, std::vector<int> v) {
  co_await loop.schedule();
  co_return v;
}

// Named functions rather than coroutine lambdas: g++ 12 gives two coroutine
// lambdas in one extern "C" function the same symbol.
duet::task<void> serve_one(duet::event_loop& loop, duet::server& server, duet::byte_vector bytes) {
  auto [peer, served] = duet::make_memory_pair(loop);
  duet::async_scope scope;
  scope.spawn(server.serve_connection(std::move(served)));
  co_await duet::when_all(feed(peer, std::move(bytes)), drain(peer));
  co_await scope.join();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  duet::byte_vector bytes;
  // An even first byte starts with a valid hello, so the rest reaches the
  // request path instead of failing the handshake every time; a multiple of
  // 4 announces streams too, with a small window (1 to 8 bytes: every
  // message the server sends takes its credit below zero), so the stream
  // frames that follow reach the streams instead of the negotiation check.
  if (size > 0 && data[0] % 2 == 0) {
    duet::hello_message hello{};
    if (data[0] % 4 == 0) {
      hello.features = duet::feature_streams;
      hello.stream_window = 1u + (data[0] / 4u) % 8u;
    }
    duet::encode_hello(bytes, hello);
  }
  const auto* first = reinterpret_cast<const std::byte*>(data);
  bytes.insert(bytes.end(), first, first + size);

  duet::event_loop loop;
  duet::router router;
  router.on(add, [](int a, int b) { return a + b; });
  router.on(lookup, [](std::map<std::string, std::string> m, std::string key) -> std::optional<std::string> {
    auto it = m.find(key);
    if (it == m.end()) return std::nullopt;
    return it->second;
  });
  router.on(later, [&loop](std::vector<int> v) { return answer_later(loop, std::move(v)); });
  router.on(feed_stream, &feed_some);
  router.on(sum_stream, &sum_all);
  router.on(echo_stream, &echo_all);
  // A window of a few small messages, so the input's stream messages run
  // out of credit (a protocol error) or are granted more.
  duet::server_options options;
  options.session.stream_window = 100;
  duet::server server(loop, router, std::move(options));
  loop.block_on(serve_one(loop, server, std::move(bytes)));
  return 0;
}
