// Credit at work over a real connection: a slow consumer holds its producer
// to the window (in bytes), a stalled stream holds back nothing else, and a
// producer runs no further ahead of the socket than the output's limit.
#include "stream/stream_rig.hpp"

#include "rpc/rig.hpp"

#include <catch2/catch.hpp>

#include <duet/detail/endian.hpp>
#include <duet/wire/decoder.hpp>
#include <duet/wire/encoder.hpp>
#include <duet/wire/native.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

using namespace stream_methods;
using namespace std::chrono_literals;

namespace {

/// Sends strings of `size` bytes until the stream ends.
inline constexpr duet::method<"stream.blobs", duet::stream<std::string>(std::uint32_t)> blobs;

struct blob_log {
  std::uint64_t sent = 0;
};

void serve_blobs(duet::router& router, blob_log& log) {
  router.on(blobs, [&log](std::uint32_t size, duet::stream_writer<std::string>& out) -> duet::task<void> {
    const std::string blob(size, 'b');
    for (;;) {
      const bool sent = co_await out.send(blob);
      if (!sent) co_return;
      ++log.sent;
    }
  });
}

/// The bytes a message costs in credit: its stream_data frame, header included.
template <class T>
std::size_t frame_bytes(const T& message) {
  duet::byte_vector body;
  duet::byte_writer w(body);
  duet::encode(w, message);
  return duet::frame_header_size + body.size();
}

/// How many messages 0, 1, 2, ... a sender gets out with `window` bytes of
/// credit and none granted: it sends while it has any credit left.
std::uint64_t messages_within(std::uint32_t window) {
  std::int64_t credit = window;
  std::uint64_t n = 0;
  while (credit > 0) credit -= static_cast<std::int64_t>(frame_bytes(n++));
  return n;
}

/// A peer's hello announcing `window`, then the opening of stream 5 of
/// `blobs` for messages of `size` bytes.
duet::byte_vector open_blobs(std::uint32_t window, std::uint32_t size) {
  duet::byte_vector out;
  duet::encode_hello(out, duet::hello_message{duet::default_max_frame_size, 100, duet::feature_streams, window});
  duet::byte_vector args;
  duet::byte_writer w(args);
  duet::encode(w, size);
  duet::encode_frame(out, duet::frame_header{duet::frame_kind::request, duet::flag_stream, 0, 5, blobs.id, 0, 0}, {},
                     args);
  return out;
}

duet::task<bool> write_all(duet::memory_stream& to, const duet::byte_vector& bytes) {
  const duet::const_buffer piece(bytes);
  const duet::io_result wr = co_await to.write(std::span<const duet::const_buffer>(&piece, 1));
  co_return !wr.error;
}

}  // namespace

TEST_CASE("a consumer that sleeps per message keeps the producer's bytes ahead of it within the window",
          "[stream]") {
  rig r;
  blob_log log;
  serve_blobs(r.router, log);
  r.run([&]() -> duet::task<void> {
    constexpr std::uint32_t size = 64 * 1024;
    constexpr std::uint32_t window = 256 * 1024;
    const std::size_t frame = frame_bytes(std::string(size, 'b'));
    duet::session_options options;
    options.stream_window = window;
    auto client = r.connect(options);
    auto s = co_await client.open(blobs, size);
    std::uint64_t received = 0;
    std::size_t most_ahead = 0;
    for (int i = 0; i < 40; ++i) {
      std::optional<std::string> v = co_await s.next();
      REQUIRE(v.has_value());
      REQUIRE(v->size() == size);
      ++received;
      // The consumer sleeps per message; meanwhile the producer sends all
      // it may (a slow build may need more than the sleep: then it gets
      // more turns, until it is as far ahead as its credit lets it).
      co_await r.loop.sleep_for(1ms);
      // Sent and not yet consumed: queued at the server, on the way, or
      // queued here. The credit bounds it to the window plus one message
      // (the last may take the credit below zero).
      auto ahead = [&] { return static_cast<std::size_t>(log.sent - received) * frame; };
      for (int turns = 0; turns < 1000 && ahead() + frame <= window; ++turns) {
        co_await r.loop.schedule();
        REQUIRE(ahead() < window + frame);
      }
      most_ahead = std::max(most_ahead, ahead());
      REQUIRE(ahead() < window + frame);
    }
    // It did run ahead, as far as the credit let it.
    CHECK(most_ahead + frame > window);
    s.cancel();
    co_await client.close();
  });
}

TEST_CASE("unary calls and other streams complete beside a stalled stream", "[stream]") {
  rig r;
  endless_log log;
  serve_stream_methods(r.router, &log);
  r.run([&]() -> duet::task<void> {
    auto client = r.connect();
    // Opened and never read: its producer runs out of credit and waits.
    auto stalled = co_await client.open(endless, 0);
    const std::uint64_t held = messages_within(duet::default_stream_window);
    for (int turns = 0; turns < 1000 && log.sent < held; ++turns) co_await r.loop.schedule();
    CHECK(log.sent == held);
    for (int i = 0; i < 1000; ++i) {
      const int got = co_await client.call(add, i, 1);
      REQUIRE(got == i + 1);
    }
    auto other = co_await client.open(count, 500);
    std::uint64_t n = 0;
    for (;;) {
      std::optional<std::uint64_t> v = co_await other.next();
      if (!v) break;
      ++n;
    }
    CHECK(n == 500);
    CHECK(log.sent == held);  // still held back
    stalled.cancel();
    co_await client.close();
  });
}

TEST_CASE("a stream's sender waits while the connection's output is full, and goes on once it is written",
          "[stream]") {
  // A peer that grants a 64 MiB window but reads nothing: the server's
  // output fills the transport (256 KiB), then its queue up to
  // max_queued_bytes, and there the handler must wait instead of encoding
  // its whole credit.
  constexpr std::uint32_t size = 16 * 1024;
  constexpr std::size_t max_queued = 64 * 1024;
  constexpr std::size_t transport = 256 * 1024;  // make_memory_pair's capacity
  duet::server_options options;
  options.session.max_queued_bytes = max_queued;
  rig r(options);
  blob_log log;
  serve_blobs(r.router, log);
  r.run([&]() -> duet::task<void> {
    const std::size_t frame = frame_bytes(std::string(size, 'b'));
    auto [near_end, far_end] = duet::make_memory_pair(r.loop, transport);
    r.connections.spawn(r.server.serve_connection(std::move(far_end)));
    const duet::byte_vector opening = open_blobs(64u << 20, size);
    const bool written = co_await write_all(near_end, opening);
    REQUIRE(written);
    for (int turns = 0; turns < 2000; ++turns) co_await r.loop.schedule();
    // In the transport, in the write under way, and queued (each batch at
    // most one message past the limit).
    const std::uint64_t bound = (transport + 2 * (max_queued + frame)) / frame;
    const std::uint64_t stalled = log.sent;
    CHECK(stalled * frame >= transport);
    CHECK(stalled <= bound);
    // Reading lets it go on, still within the bound ahead of the reader.
    std::byte buffer[16 * 1024];
    std::size_t read = 0;
    for (int reads = 0; reads < 100000 && read < 4 * transport; ++reads) {
      const duet::io_result got = co_await near_end.read_some(buffer);
      REQUIRE_FALSE(got.error);
      REQUIRE(got.bytes > 0);
      read += got.bytes;
      REQUIRE(log.sent <= bound + read / frame + 1);
    }
    CHECK(log.sent > stalled);
    near_end.close();
  });
}

TEST_CASE("a sender whose last message took its credit below zero waits until grants bring it above zero",
          "[stream]") {
  // A peer with a window of 100 bytes, granting in pieces smaller than a
  // message: the first 1 KiB message goes (credit 100 - 1028), the second
  // only once the grants add up to more than what the first took.
  rig r;
  blob_log log;
  serve_blobs(r.router, log);
  r.run([&]() -> duet::task<void> {
    auto [near_end, far_end] = duet::make_memory_pair(r.loop);
    r.connections.spawn(r.server.serve_connection(std::move(far_end)));
    const std::uint32_t size = 1000;
    const std::size_t frame = frame_bytes(std::string(size, 'b'));
    const duet::byte_vector opening = open_blobs(100, size);
    auto grant = [](std::uint32_t n) {
      duet::byte_vector out;
      std::byte payload[4];
      duet::detail::store_le32(payload, n);
      duet::encode_frame(out, duet::frame_header{duet::frame_kind::credit, 0, 0, 5, 0, 0, 0}, {}, payload);
      return out;
    };
    bool written = co_await write_all(near_end, opening);
    REQUIRE(written);
    for (int turns = 0; turns < 200; ++turns) co_await r.loop.schedule();
    CHECK(log.sent == 1);
    // Short of what the first message took below zero: still waiting.
    const std::uint32_t short_of_zero = static_cast<std::uint32_t>(frame - 100);
    const duet::byte_vector first_grant = grant(short_of_zero);
    written = co_await write_all(near_end, first_grant);
    REQUIRE(written);
    for (int turns = 0; turns < 200; ++turns) co_await r.loop.schedule();
    CHECK(log.sent == 1);
    // One more byte: the credit is above zero, the next message goes.
    const duet::byte_vector last_grant = grant(1);
    written = co_await write_all(near_end, last_grant);
    REQUIRE(written);
    for (int turns = 0; turns < 200 && log.sent < 2; ++turns) co_await r.loop.schedule();
    CHECK(log.sent == 2);
    near_end.close();
  });
}

TEST_CASE("streams waiting for credit never pause the server's reader, even at its cap", "[stream]") {
  // Two streams on a server that runs at most two requests at once: if
  // their handlers, waiting for credit, counted as running requests, the
  // reader would pause and never route the credit that frees them.
  duet::server_options options;
  options.session.max_in_flight = 2;
  rig r(options);
  serve_stream_methods(r.router);
  r.run([&]() -> duet::task<void> {
    auto client = r.connect();
    auto a = co_await client.open(count, 1000);
    auto b = co_await client.open(count, 1000);
    for (int turns = 0; turns < 100; ++turns) co_await r.loop.schedule();  // both producers run dry
    std::uint64_t got = 0;
    for (int i = 0; i < 1000; ++i) {
      std::optional<std::uint64_t> va = co_await a.next();
      std::optional<std::uint64_t> vb = co_await b.next();
      if (va && vb && *va == *vb) ++got;
    }
    CHECK(got == 1000);
    duet::result<void> ea = co_await a.finish();
    duet::result<void> eb = co_await b.finish();
    CHECK(ea.has_value());
    CHECK(eb.has_value());
    co_await client.close();
  });
}
